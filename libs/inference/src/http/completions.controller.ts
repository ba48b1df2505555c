import { Body, Controller, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { TokenLogprob } from '@app/engine';
import { FastifyReply, FastifyRequest } from 'fastify';
import { ApiKeyGuard, CurrentKey } from '@app/auth';
import { RequestRateGuard } from '@app/quotas';
import { VerifiedKey } from '@app/tenants';
import { ChoiceDelta } from '../generation/choice-runner';
import { answer } from '../generation/answers';
import { InferenceService } from '../generation/inference.service';
import { completionLogprobs, echoCompletionLogprobs } from '../generation/openai-shapes';
import { PreparedRequest, promptIndexOf } from '../generation/prepared-request';
import { onClientGone, SseWriter } from './sse';
import { runStream } from './stream-run';

@ApiTags('openai')
@ApiBearerAuth()
@Controller('v1/completions')
@UseGuards(ApiKeyGuard, RequestRateGuard)
export class CompletionsController {
  constructor(private readonly inference: InferenceService) {}

  @Post()
  @HttpCode(200)
  async create(
    @Body() body: unknown,
    @CurrentKey() key: VerifiedKey,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const p = await this.inference.prepareCompletion(body, { tenantId: key.tenantId, apiKeyId: key.keyId });
    onClientGone(reply, () => p.abort.abort());
    if (p.sampling.stream) return this.stream(p, reply);
    void reply.headers(p.reservation.headers()).send(await answer(this.inference, 'completion', p));
  }

  private async stream(p: PreparedRequest, reply: FastifyReply): Promise<void> {
    const sse = new SseWriter(reply, p.reservation.headers());
    const top = p.sampling.logprobs;
    const base = {
      id: p.id,
      object: 'text_completion',
      created: p.created,
      model: p.model,
      system_fingerprint: null,
    };
    const usageField = p.sampling.includeUsage ? { usage: null } : {};
    const offsets = new Map<number, number>();
    // echo: a choice's first chunk is its prompt (with the prompt's scores, which all arrive
    // before its first output); prompt-score deltas wait for it.
    const promptScores = new Map<number, TokenLogprob[]>();
    const send = (index: number, text: string, logprobs: unknown, finishReason?: string) =>
      sse.data({
        ...base,
        choices: [{ index, text, logprobs, finish_reason: finishReason ?? null }],
        ...usageField,
      });
    const emit = (d: ChoiceDelta) => {
      if (p.echo && !offsets.has(d.index)) {
        const scores = promptScores.get(d.index) ?? [];
        scores.push(...(d.promptLogprobs ?? []));
        promptScores.set(d.index, scores);
        if (d.promptLogprobs) return;
        const at = promptIndexOf(p, d.index);
        const lp =
          top === null
            ? null
            : echoCompletionLogprobs(p.deployment.text, p.prompts[at], scores, [], top, p.tokensAsIds);
        const text = p.echo[at];
        send(d.index, text, lp);
        offsets.set(d.index, text.length);
      }
      if (d.promptLogprobs) return;
      const start = offsets.get(d.index) ?? 0;
      offsets.set(d.index, start + d.text.length);
      const logprobs =
        top === null ? null : completionLogprobs(p.deployment.text, d.logprobs, top, start, p.tokensAsIds);
      send(d.index, d.text, logprobs, d.finishReason);
    };
    await runStream(this.inference, p, sse, base, emit);
  }
}
