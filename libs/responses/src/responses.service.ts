import { Injectable, Logger } from '@nestjs/common';
import { ApiError, serviceTierForLane } from '@app/common';
import { TenantStorage } from '@app/tenants';
import {
  answer,
  exceedsContext,
  InferenceService,
  PreparedRequest,
  SseWriter,
  streamChatParts,
  usageOf,
} from '@app/inference';
import { newResponseId } from './ids';
import { chatMessages, ResponseItem } from './response-items';
import {
  ResponseObject,
  responseObject,
  ResponseState,
  responsesUsage,
  stateFromChat,
} from './response-object';
import { ResponseStream } from './response-stream';
import { inResponsesTerms, parseResponsesRequest, ResponsesRequest } from './responses-request';
import { ResponsesStore } from './responses.store';

export interface ResponsesCaller {
  tenantId: string;
  apiKeyId: string;
  requestId?: string;
}

/** A validated, admitted response ready to run. */
export interface ResponseRun {
  req: ResponsesRequest;
  caller: ResponsesCaller;
  /** The conversation it answers (earlier turns of the chain, then its input). */
  context: ResponseItem[];
  p: PreparedRequest;
  createdAt: number;
}

/** The chat completions body a response runs as, for these items of its conversation. */
const chatBody = (req: ResponsesRequest, items: ResponseItem[]) => ({
  ...req.chat,
  messages: chatMessages(req.instructions, items),
});

const notFound = (id: string, param: string | null = null) =>
  ApiError.notFound(`Response with id '${id}' not found.`, 'not_found', param);

/**
 * OpenAI's Responses API over the chat completions path (routing, guardrails, quotas, lanes and
 * metering as chat): a response runs as one chat choice whose messages are `instructions`, the
 * stored chain of `previous_response_id` and the new input. The usage event's id is the response id.
 */
@Injectable()
export class ResponsesService {
  private readonly logger = new Logger('Responses');

  constructor(
    private readonly inference: InferenceService,
    private readonly store: ResponsesStore,
    private readonly storage: TenantStorage,
  ) {}

  /**
   * Validates the body, loads the chain it continues and admits it (errors: plain HTTP ones).
   * `caller.requestId` fixes the response id (a batch line's, billed once across reruns).
   */
  async prepare(body: unknown, caller: ResponsesCaller): Promise<ResponseRun> {
    const req = parseResponsesRequest(body);
    if (req.store) await this.storage.assertRoom(caller.tenantId, 0, 'store');
    let earlier: ResponseItem[] = [];
    if (req.previousResponseId) {
      const prev = await this.store.find(caller.tenantId, req.previousResponseId);
      if (!prev) throw notFound(req.previousResponseId, 'previous_response_id');
      earlier = [...prev.context, ...prev.response.output];
    }
    const context = [...earlier, ...req.input];
    const id = caller.requestId ?? newResponseId();
    const attempt = (items: ResponseItem[]) =>
      this.inference.prepareChat(chatBody(req, items), { ...caller, requestId: id });
    try {
      let p: PreparedRequest;
      try {
        p = await attempt(context);
      } catch (err) {
        if (req.echo.truncation !== 'auto' || !exceedsContext(err)) throw err;
        p = await this.truncated(req, caller, context, attempt, err);
      }
      return { req, caller, context, p, createdAt: p.created };
    } catch (err) {
      throw inResponsesTerms(err);
    }
  }

  /**
   * truncation 'auto': runs the conversation with the fewest oldest items dropped that fits the
   * model's context. It is cut only before a message (a tool output never loses its call); the
   * cut is found by bisection with the context check alone (fewer items never need more tokens),
   * then admitted. Nothing fits, not even the last message: `refusal`.
   */
  private async truncated(
    req: ResponsesRequest,
    caller: ResponsesCaller,
    items: ResponseItem[],
    attempt: (items: ResponseItem[]) => Promise<PreparedRequest>,
    refusal: unknown,
  ): Promise<PreparedRequest> {
    const cuts = items.flatMap((item, i) => (i > 0 && item.type === 'message' ? [i] : []));
    const fits = (from: number) => this.inference.chatFitsContext(chatBody(req, items.slice(from)), caller);
    let [lo, hi] = [0, cuts.length];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (fits(cuts[mid])) hi = mid;
      else lo = mid + 1;
    }
    // Guardrail redaction or another alias target may still refuse it: drop on until one runs.
    for (let c = lo; c < cuts.length; c++) {
      try {
        return await attempt(items.slice(cuts[c]));
      } catch (err) {
        if (!exceedsContext(err)) throw err;
      }
    }
    throw refusal;
  }

  /** Runs it to the end and answers the response object (stored when `store`). */
  async respond(run: ResponseRun): Promise<ResponseObject> {
    const chat = (await answer(this.inference, 'chat', run.p)) as Parameters<typeof stateFromChat>[2];
    return this.finish(run, stateFromChat(run.p.id, run.createdAt, chat));
  }

  /** Runs it as server-sent events on `sse`; stored at the end when `store` (not when the client left). */
  async stream(run: ResponseRun, sse: SseWriter): Promise<void> {
    const { p } = run;
    const state: ResponseState = {
      id: p.id,
      createdAt: run.createdAt,
      model: p.model,
      serviceTier: serviceTierForLane(p.lane),
      status: 'in_progress',
      output: [],
      usage: null,
    };
    const events = new ResponseStream(sse, run.req, state, p);
    events.start();
    let finishReason = 'stop';
    const emit = streamChatParts(p.tools, (part) => {
      events.part(part);
      if (part.finishReason) finishReason = part.finishReason;
    });
    let final: ResponseState;
    try {
      const results = await this.inference.execute(p, emit);
      const failed = results.find((r) => r.finishReason === 'error' || r.finishReason === 'abort');
      if (p.abort.signal.aborted) return sse.end(false);
      if (failed) final = events.fail(failed.apiError ?? new Error(failed.error ?? 'engine error'));
      else {
        const { prompt, cached } = this.inference.promptTotals(p, results);
        final = events.finish(finishReason, responsesUsage(usageOf(prompt, cached, results)));
      }
    } catch (err) {
      final = events.fail(err);
    }
    sse.end(false);
    // The client has its answer (and usage is recorded): a failed store is logged, not thrown.
    await this.finish(run, final).catch((err: Error) =>
      this.logger.warn(`response ${p.id} was not stored: ${err.message}`),
    );
  }

  async retrieve(tenantId: string, id: string): Promise<ResponseObject> {
    const stored = await this.store.find(tenantId, id);
    if (!stored) throw notFound(id);
    return stored.response;
  }

  async delete(tenantId: string, id: string) {
    if (!(await this.store.delete(tenantId, id))) throw notFound(id);
    this.storage.removed(tenantId);
    return { id, object: 'response', deleted: true };
  }

  /** The items of the conversation a stored response answered (its chain's turns included). */
  async inputItems(tenantId: string, id: string): Promise<ResponseItem[]> {
    const stored = await this.store.find(tenantId, id);
    if (!stored) throw notFound(id);
    return stored.context;
  }

  private async finish(run: ResponseRun, state: ResponseState): Promise<ResponseObject> {
    const body = responseObject(run.req, state);
    if (run.req.store) {
      const bytes = await this.store.save(run.caller.tenantId, run.caller.apiKeyId, {
        context: run.context,
        response: body,
      });
      this.storage.added(run.caller.tenantId, bytes);
    }
    return body;
  }
}
