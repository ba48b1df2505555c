import { Body, Controller, HttpCode, Post, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { ApiKeyGuard, CurrentKey } from '@app/auth';
import { ApiError } from '@app/common';
import { RequestRateGuard } from '@app/quotas';
import { VerifiedKey } from '@app/tenants';
import { base64Embedding, normalizedEmbedding } from '../generation/embedding-vectors';
import { InferenceService } from '../generation/inference.service';
import { failIfNoOutput } from './failures';
import { onClientGone } from './sse';

/** OpenAI's POST /v1/embeddings: one vector per input, in input order. */
@ApiTags('openai')
@ApiBearerAuth()
@Controller('v1/embeddings')
@UseGuards(ApiKeyGuard, RequestRateGuard)
export class EmbeddingsController {
  constructor(private readonly inference: InferenceService) {}

  @Post()
  @HttpCode(200)
  async create(
    @Body() body: unknown,
    @CurrentKey() key: VerifiedKey,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const p = await this.inference.prepareEmbeddings(body, { tenantId: key.tenantId, apiKeyId: key.keyId });
    onClientGone(reply, () => p.abort.abort());
    const results = await this.inference.execute(p, () => undefined);
    failIfNoOutput(results, p);
    if (results.some((r) => !r.embedding))
      throw new ApiError(500, 'The engine returned no embedding.', { code: 'engine_error' });
    const { encodingFormat, dimensions } = p.embedding!;
    const { prompt } = this.inference.promptTotals(p, results);
    void reply.headers(p.reservation.headers()).send({
      object: 'list',
      data: results.map((r) => {
        const v = normalizedEmbedding(r.embedding!, dimensions);
        return {
          object: 'embedding',
          index: r.index,
          embedding: encodingFormat === 'base64' ? base64Embedding(v) : Array.from(v),
        };
      }),
      model: p.model,
      usage: { prompt_tokens: prompt, total_tokens: prompt },
    });
  }
}
