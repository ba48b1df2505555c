import { Body, Controller, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { FastifyReply, FastifyRequest } from 'fastify';
import { ApiKeyGuard, CurrentKey } from '@app/auth';
import { RequestRateGuard } from '@app/quotas';
import { serviceTierForLane } from '@app/common';
import { VerifiedKey } from '@app/tenants';
import { InferenceService } from '../generation/inference.service';
import { answer } from '../generation/answers';
import { chatLogprobs } from '../generation/openai-shapes';
import { PreparedRequest } from '../generation/prepared-request';
import { onClientGone, SseWriter } from './sse';
import { runStream } from './stream-run';
import { ChatStreamPart, streamChatParts } from './tool-stream';

@ApiTags('openai')
@ApiBearerAuth()
@Controller('v1/chat/completions')
@UseGuards(ApiKeyGuard, RequestRateGuard)
export class ChatController {
  constructor(private readonly inference: InferenceService) {}

  @Post()
  @HttpCode(200)
  async create(
    @Body() body: unknown,
    @CurrentKey() key: VerifiedKey,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const p = await this.inference.prepareChat(body, { tenantId: key.tenantId, apiKeyId: key.keyId });
    onClientGone(reply, () => p.abort.abort());
    if (p.sampling.stream) return this.stream(p, reply);
    void reply.headers(p.reservation.headers()).send(await answer(this.inference, 'chat', p));
  }

  private async stream(p: PreparedRequest, reply: FastifyReply): Promise<void> {
    const sse = new SseWriter(reply, p.reservation.headers());
    const top = p.sampling.logprobs ?? 0;
    const base = {
      id: p.id,
      object: 'chat.completion.chunk',
      created: p.created,
      model: p.model,
      service_tier: serviceTierForLane(p.lane),
      system_fingerprint: null,
    };
    const usageField = p.sampling.includeUsage ? { usage: null } : {};
    for (const c of p.choices) {
      sse.data({
        ...base,
        choices: [
          { index: c.index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null },
        ],
        ...usageField,
      });
    }
    const send = (part: ChatStreamPart) => {
      const logprobs =
        p.sampling.logprobs === null
          ? null
          : { content: chatLogprobs(p.deployment.text, part.logprobs, top), refusal: null };
      if (part.toolCalls) {
        const delta = { tool_calls: part.toolCalls.map((call, i) => ({ index: i, ...call })) };
        sse.data({
          ...base,
          choices: [{ index: part.index, delta, logprobs, finish_reason: null }],
          ...usageField,
        });
      } else if (part.content || (logprobs && logprobs.content.length > 0)) {
        sse.data({
          ...base,
          choices: [
            { index: part.index, delta: { content: part.content ?? '' }, logprobs, finish_reason: null },
          ],
          ...usageField,
        });
      }
      if (part.finishReason) {
        sse.data({
          ...base,
          choices: [{ index: part.index, delta: {}, logprobs: null, finish_reason: part.finishReason }],
          ...usageField,
        });
      }
    };
    await runStream(this.inference, p, sse, base, streamChatParts(p.tools, send));
  }
}
