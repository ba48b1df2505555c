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
import { GuardrailPolicy } from '../guardrails/guardrail-policy';
import { guardInputText, guardMessages, guardsInput } from '../guardrails/input-guard';

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

  /**
   * The model named in the body (an id, not an alias), else the primary one; the key's policy must
   * allow it. Also the key's guardrails.
   */
  private async model(
    body: unknown,
    key: VerifiedKey,
  ): Promise<{ model: ModelDeployment; guards: GuardrailPolicy }> {
    const id = requestedModel(body) ?? this.models.primary.id;
    const access = await this.accounting.access({ tenantId: key.tenantId, apiKeyId: key.keyId });
    assertModelAllowed(access, id);
    return { model: this.models.get(id), guards: access.guardrails };
  }

  /** Counts what the model would see: the key's input guardrails apply (a redaction, or its 400). */
  @Post('tokenize')
  @HttpCode(200)
  async tokenize(@Body() body: unknown, @CurrentKey() key: VerifiedKey) {
    const req = parseTokenizeRequest(body);
    const { model, guards } = await this.model(body, key);
    const { text, files } = model;
    const guarded = guardsInput(guards);
    const report = { piiRedacted: 0 };
    const tokens =
      'messages' in req
        ? text.encode(
            text.renderChat(
              guarded ? guardMessages(req.messages, guards, report) : req.messages,
              req.addGenerationPrompt,
            ),
            false,
          )
        : text.encode(
            guarded ? guardInputText(req.prompt, guards, 'prompt', true, report) : req.prompt,
            req.addSpecialTokens,
          );
    const maxModelLen = files.maxPositionEmbeddings ?? null;
    return { count: tokens.length, max_model_len: maxModelLen, tokens };
  }

  @Post('detokenize')
  @HttpCode(200)
  async detokenize(@Body() body: unknown, @CurrentKey() key: VerifiedKey) {
    const { text } = (await this.model(body, key)).model;
    const req = parseDetokenizeRequest(body, text.vocabSize);
    return { prompt: text.decode(req.tokens, false) };
  }
}
