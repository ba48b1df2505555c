import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ApiKeyGuard } from '@app/auth';
import { ApiError } from '@app/common';
import { ModelRegistry } from './model-registry';

@ApiTags('openai')
@ApiBearerAuth()
@Controller('v1/models')
@UseGuards(ApiKeyGuard)
export class ModelsController {
  constructor(private readonly models: ModelRegistry) {}

  @Get()
  list() {
    return { object: 'list', data: this.models.list() };
  }

  @Get(':model')
  get(@Param('model') model: string) {
    const card = this.models.list().find((m) => m.id === model);
    if (!card) throw ApiError.notFound(`The model '${model}' does not exist.`, 'model_not_found', 'model');
    return card;
  }
}
