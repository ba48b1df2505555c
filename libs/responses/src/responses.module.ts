import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { APP_CONFIG } from '@app/common';
import { InferenceModule } from '@app/inference';
import { QuotasModule } from '@app/quotas';
import { TenantsModule } from '@app/tenants';
import { ResponsesController } from './responses.controller';
import { ResponsesRetentionService } from './responses-retention.service';
import { RESPONSES_SETTINGS, responsesSettingsFrom } from './responses-settings';
import { ResponsesService } from './responses.service';
import { ResponsesStore } from './responses.store';

/** OpenAI's Responses API, its responses stored in Postgres (every replica serves them). */
@Module({
  imports: [AuthModule, TenantsModule, QuotasModule, InferenceModule],
  controllers: [ResponsesController],
  providers: [
    { provide: RESPONSES_SETTINGS, useFactory: responsesSettingsFrom, inject: [APP_CONFIG] },
    ResponsesStore,
    ResponsesService,
    ResponsesRetentionService,
  ],
  exports: [ResponsesService, ResponsesStore],
})
export class ResponsesModule {}
