import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { ModelCatalog } from './models/model-catalog';
import { ModelsController } from './models/models.controller';

/** OpenAI-compatible endpoints for tenants' clients (API key required). */
@Module({
  imports: [AuthModule],
  controllers: [ModelsController],
  providers: [ModelCatalog],
  exports: [ModelCatalog],
})
export class InferenceModule {}
