import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ApiKeyGuard } from '@app/auth';
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
  constructor(private readonly models: ModelRegistry) {}

  /** The model named in the body (an id, not an alias), or the primary one when none is. */
  private model(body: unknown): ModelDeployment {
    const id = requestedModel(body);
    return id === undefined ? this.models.primary : this.models.get(id);
  }

  @Post('tokenize')
  @HttpCode(200)
  tokenize(@Body() body: unknown) {
    const req = parseTokenizeRequest(body);
    const { text, files } = this.model(body);
    const tokens =
      'messages' in req
        ? text.encode(text.renderChat(req.messages, req.addGenerationPrompt), false)
        : text.encode(req.prompt, req.addSpecialTokens);
    const maxModelLen = files.maxPositionEmbeddings ?? null;
    return { count: tokens.length, max_model_len: maxModelLen, tokens };
  }

  @Post('detokenize')
  @HttpCode(200)
  detokenize(@Body() body: unknown) {
    const { text } = this.model(body);
    const req = parseDetokenizeRequest(body, text.vocabSize);
    return { prompt: text.decode(req.tokens, false) };
  }
}
