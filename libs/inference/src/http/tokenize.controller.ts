import { Body, Controller, HttpCode, Inject, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ApiKeyGuard, CurrentKey } from '@app/auth';
import { VerifiedKey } from '@app/tenants';
import { Accounting, ACCOUNTING } from '../generation/accounting';
import { assertModelAllowed } from '../models/model-access';
import { parseDetokenizeRequest, parseTokenizeRequest } from '../api/tokenize-request';
import { ModelDeployment } from '../models/model-deployment';
import { ModelRegistry } from '../models/model-registry';
import { requestedModel } from '../models/requested-model';

/** vLLM-compatible /tokenize and /detokenize with a served model's tokenizer and template. */
@ApiTags('openai')
@ApiBearerAuth()
@Controller()
@UseGuards(ApiKeyGuard)
export class TokenizeController {
  constructor(
    private readonly models: ModelRegistry,
    @Inject(ACCOUNTING) private readonly accounting: Accounting,
  ) {}

  /** The model named in the body (an id, not an alias), else the primary one; the key's policy must allow it. */
  private async model(body: unknown, key: VerifiedKey): Promise<ModelDeployment> {
    const id = requestedModel(body) ?? this.models.primary.id;
    assertModelAllowed(await this.accounting.access({ tenantId: key.tenantId, apiKeyId: key.keyId }), id);
    return this.models.get(id);
  }

  @Post('tokenize')
  @HttpCode(200)
  async tokenize(@Body() body: unknown, @CurrentKey() key: VerifiedKey) {
    const req = parseTokenizeRequest(body);
    const { text, files } = await this.model(body, key);
    const tokens =
      'messages' in req
        ? text.encode(text.renderChat(req.messages, req.addGenerationPrompt), false)
        : text.encode(req.prompt, req.addSpecialTokens);
    const maxModelLen = files.maxPositionEmbeddings ?? null;
    return { count: tokens.length, max_model_len: maxModelLen, tokens };
  }

  @Post('detokenize')
  @HttpCode(200)
  async detokenize(@Body() body: unknown, @CurrentKey() key: VerifiedKey) {
    const { text } = await this.model(body, key);
    const req = parseDetokenizeRequest(body, text.vocabSize);
    return { prompt: text.decode(req.tokens, false) };
  }
}
