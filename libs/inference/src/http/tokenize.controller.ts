import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ApiKeyGuard } from '@app/auth';
import { ApiError } from '@app/common';
import { parseDetokenizeRequest, parseTokenizeRequest } from '../api/tokenize-request';
import { ModelCatalog } from '../models/model-catalog';
import { ModelTextProvider } from '../text/model-text.provider';

/** vLLM-compatible /tokenize and /detokenize with the served model's tokenizer and template. */
@ApiTags('openai')
@ApiBearerAuth()
@Controller()
@UseGuards(ApiKeyGuard)
export class TokenizeController {
  constructor(
    private readonly texts: ModelTextProvider,
    private readonly catalog: ModelCatalog,
  ) {}

  private checkModel(model: string | undefined): void {
    if (model !== undefined && model !== this.catalog.modelId) {
      throw ApiError.notFound(`The model '${model}' does not exist.`, 'model_not_found', 'model');
    }
  }

  @Post('tokenize')
  @HttpCode(200)
  tokenize(@Body() body: unknown) {
    const { text, files } = this.texts.get();
    const req = parseTokenizeRequest(body);
    this.checkModel(req.model);
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
    const { text } = this.texts.get();
    const req = parseDetokenizeRequest(body, text.vocabSize);
    this.checkModel(req.model);
    return { prompt: text.decode(req.tokens, false) };
  }
}
