import { Body, Controller, HttpCode, Post, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { ApiKeyGuard, CurrentKey } from '@app/auth';
import { RequestRateGuard } from '@app/quotas';
import { VerifiedKey } from '@app/tenants';
import { answer } from '../generation/answers';
import { InferenceService } from '../generation/inference.service';
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
    void reply.headers(p.reservation.headers()).send(await answer(this.inference, 'embedding', p));
  }
}
