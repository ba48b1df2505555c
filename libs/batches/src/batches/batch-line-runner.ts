import { Injectable } from '@nestjs/common';
import { toOpenAIError, ApiError, openAIErrorBody } from '@app/common';
import { API_KEY_MESSAGES } from '@app/auth';
import { answer, idPrefixOf, InferenceService } from '@app/inference';
import { ResponsesService } from '@app/responses';
import { BatchKind, BatchLine } from './batch-input';
import { LineOutcome, retryDelayMs } from './batch-output';
import { KeyRefusal } from './batch-store';

export interface LineContext {
  batchId: string;
  tenantId: string;
  apiKeyId: string;
  kind: BatchKind;
}

/** A line's answer, or how long to wait before it runs again (a passing refusal, e.g. a full lane). */
export type LineAttempt = { outcome: LineOutcome } | { retryInMs: number };

/** A line's request id, fixed by its batch and position: the key of its usage event. */
const lineRequestId = (ctx: LineContext, line: BatchLine) =>
  ctx.kind === 'response'
    ? `resp_${ctx.batchId}-${line.index}` // still a response id (resp_...)
    : `${idPrefixOf(ctx.kind)}-${ctx.batchId}-${line.index}`;

/**
 * Runs one batch line through the same path as its endpoint (model routing, guardrails, quotas,
 * metering), in the batch lane. Its request id is fixed by the batch and line, so a line run again
 * after a crash is billed once.
 */
@Injectable()
export class BatchLineRunner {
  constructor(
    private readonly inference: InferenceService,
    private readonly responses: ResponsesService,
  ) {}

  async attempt(ctx: LineContext, line: BatchLine): Promise<LineAttempt> {
    const requestId = lineRequestId(ctx, line);
    try {
      const body = { ...line.body, service_tier: 'flex' };
      const caller = { tenantId: ctx.tenantId, apiKeyId: ctx.apiKeyId, requestId };
      let answered: object;
      if (ctx.kind === 'response')
        answered = await this.responses.respond(await this.responses.prepare(body, caller));
      else
        answered = await answer(
          this.inference,
          ctx.kind,
          await this.inference.prepareKind(ctx.kind, body, caller),
        );
      return { outcome: { statusCode: 200, requestId, body: answered, error: null } };
    } catch (err) {
      const rendered = toOpenAIError(err);
      if (err instanceof ApiError) {
        const wait = retryDelayMs(err);
        if (wait !== null) return { retryInMs: wait };
      }
      return { outcome: { statusCode: rendered.status, requestId, body: rendered.body, error: null } };
    }
  }

  /** The answer every remaining line gets once the batch's key can no longer be used. */
  refused(ctx: LineContext, line: BatchLine, reason: KeyRefusal): LineOutcome {
    return {
      statusCode: 401,
      requestId: lineRequestId(ctx, line),
      body: openAIErrorBody(401, API_KEY_MESSAGES[reason], { code: 'invalid_api_key' }),
      error: null,
    };
  }
}
