import { Body, Controller, HttpCode, Inject, Module, Post, Req, Res, UseGuards } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ApiKeyGuard, AuthModule, CurrentKey } from '@app/auth';
import { isLane } from '@app/common';
import { MeteringModule, MeteringService } from '@app/metering';
import { QuotasModule, QuotaService, RequestRateGuard, requestRateHeaders } from '@app/quotas';
import type { VerifiedKey } from '@app/tenants';

interface ProbeBody {
  prompt_tokens?: number;
  max_tokens?: number;
  /** Completion tokens "generated" (default max_tokens). */
  completion_tokens?: number;
  hold_ms?: number;
  lane?: string;
  fail?: boolean;
}

/**
 * A stand-in for the inference path used by the quota/metering e2e tests: ApiKeyGuard +
 * RequestRateGuard, reserve(prompt + max_tokens), hold, commit the actual total, record the
 * usage event, answer with an OpenAI-like usage object and the x-ratelimit headers.
 */
@Controller('test/quota-probe')
@UseGuards(ApiKeyGuard, RequestRateGuard)
class QuotaProbeController {
  constructor(
    @Inject(QuotaService) private readonly quotas: QuotaService,
    @Inject(MeteringService) private readonly metering: MeteringService,
  ) {}

  @Post()
  @HttpCode(200)
  async probe(
    @CurrentKey() key: VerifiedKey,
    @Body() body: ProbeBody,
    @Req() req: unknown,
    @Res({ passthrough: true }) reply: { header(n: string, v: string): unknown },
  ) {
    const startedAt = new Date();
    const requestId = `probe-${randomUUID()}`;
    const prompt = body.prompt_tokens ?? 10;
    const maxTokens = body.max_tokens ?? 10;
    const completion = Math.min(body.completion_tokens ?? maxTokens, maxTokens);
    const lane = isLane(body.lane) ? body.lane : 'standard';
    const base = {
      requestId,
      tenantId: key.tenantId,
      apiKeyId: key.keyId,
      model: 'tiny-llama',
      lane,
      startedAt,
    };
    let reservation;
    try {
      reservation = await this.quotas.reserve({ ...base, promptTokens: prompt, maxTokens });
    } catch (err) {
      const now = new Date();
      this.metering.record({
        ...base,
        promptTokens: 0,
        cachedTokens: 0,
        completionTokens: 0,
        status: 'rejected',
        ttftMs: null,
        durationMs: 0,
        endedAt: now,
      });
      throw err;
    }
    try {
      if (body.hold_ms) await new Promise((r) => setTimeout(r, body.hold_ms));
      if (body.fail) throw new Error('probe failure');
      await reservation.commit(prompt + completion);
    } catch (err) {
      await reservation.release();
      throw err;
    }
    const endedAt = new Date();
    this.metering.record({
      ...base,
      promptTokens: prompt,
      cachedTokens: 0,
      completionTokens: completion,
      status: 'completed',
      ttftMs: 1,
      durationMs: endedAt.getTime() - startedAt.getTime(),
      endedAt,
    });
    for (const [n, v] of Object.entries({ ...requestRateHeaders(req), ...reservation.headers() }))
      reply.header(n, v);
    return {
      id: requestId,
      usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
    };
  }
}

@Module({ imports: [AuthModule, QuotasModule, MeteringModule], controllers: [QuotaProbeController] })
export class QuotaProbeModule {}
