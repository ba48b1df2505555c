import { Controller, Get, Inject, Param, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ApiKeyGuard, CurrentKey } from '@app/auth';
import { ApiError } from '@app/common';
import { VerifiedKey } from '@app/tenants';
import { Accounting, ACCOUNTING } from '../generation/accounting';
import { mayUseModel } from './model-access';
import { ModelCard, ModelRegistry } from './model-registry';

@ApiTags('openai')
@ApiBearerAuth()
@Controller('v1/models')
@UseGuards(ApiKeyGuard)
export class ModelsController {
  constructor(
    private readonly models: ModelRegistry,
    @Inject(ACCOUNTING) private readonly accounting: Accounting,
  ) {}

  /** The served models and aliases this key may call (its policy's allowed_models). */
  private async visible(key: VerifiedKey): Promise<ModelCard[]> {
    const access = await this.accounting.access({ tenantId: key.tenantId, apiKeyId: key.keyId });
    return this.models.list().filter((m) => mayUseModel(access, m.id));
  }

  @Get()
  async list(@CurrentKey() key: VerifiedKey) {
    return { object: 'list', data: await this.visible(key) };
  }

  @Get(':model')
  async get(@Param('model') model: string, @CurrentKey() key: VerifiedKey) {
    const card = (await this.visible(key)).find((m) => m.id === model);
    if (!card) throw ApiError.notFound(`The model '${model}' does not exist.`, 'model_not_found', 'model');
    return card;
  }
}
