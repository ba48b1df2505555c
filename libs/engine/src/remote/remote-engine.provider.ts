import { randomUUID } from 'node:crypto';
import { EngineProvider } from '../engine-provider';
import {
  EngineEvent,
  EngineInfo,
  EngineRequest,
  EngineStats,
  FinishReason,
  TokenLogprob,
} from '../engine.types';
import { completionBody, continuationRequest, tokenIdOf } from './remote-request';
import { sseData } from './sse-lines';
import { Upstream, UpstreamPool, UpstreamPoolOptions, UpstreamStatus } from './upstream-pool';

export interface RemoteEngineOptions extends Omit<
  UpstreamPoolOptions,
  'healthIntervalMs' | 'failureThreshold' | 'cooldownMs'
> {
  /** Model id to ask the upstreams for (default: what each upstream lists first). */
  model?: string;
  /** Context length the gateway enforces (the upstreams have the same model). */
  maxModelLen: number;
  vocabSize?: number;
  /** The model's hidden size (embeddings' length; from its config.json). */
  hiddenSize?: number;
  healthIntervalMs?: number;
  failureThreshold?: number;
  cooldownMs?: number;
}

interface Chunk {
  choices?: {
    text?: string;
    finish_reason?: string | null;
    logprobs?: {
      tokens?: string[];
      token_logprobs?: number[];
      top_logprobs?: Record<string, number>[] | null;
    } | null;
  }[];
  usage?: {
    prompt_tokens?: number;
    completion_tokens?: number;
    prompt_tokens_details?: { cached_tokens?: number };
  } | null;
  error?: { message?: string };
}

/** The upstream could not take the request (connection refused, 5xx, 429): nothing was streamed. */
class UpstreamError extends Error {}
/** The upstream's stream broke after it started (connection lost, error event, no finish). */
class StreamBrokenError extends Error {}

/**
 * EngineProvider over a pool of OpenAI-compatible upstreams (our own gateways or vLLM):
 * streamed /v1/completions with token ids in and out, least-outstanding-requests routing,
 * health checks, and a circuit breaker per upstream. A request that fails before its first token
 * is retried on another upstream. One whose stream breaks after tokens flowed is resumed on
 * another upstream with the tokens so far appended to its prompt (continuationRequest): greedy
 * output is then the same as without the failure; structured output cannot resume (error event).
 * An embed request is one POST /v1/embeddings (token ids in, base64 vector back), retried on
 * another upstream like a request that failed before its first token.
 */
export class RemoteEngineProvider implements EngineProvider {
  readonly pool: UpstreamPool;
  /** Upstreams (vLLM, this gateway) score prompts for `echo` with `logprobs`. */
  readonly promptLogprobs = true;
  private closed = false;
  private readonly inflight = new Set<AbortController>();
  private generated = 0;
  private prompted = 0;
  /** Streams that broke after their first token and were resumed on another upstream. */
  resumedStreams = 0;

  constructor(private readonly options: RemoteEngineOptions) {
    this.pool = new UpstreamPool({
      urls: options.urls,
      apiKey: options.apiKey,
      fetchTimeoutMs: options.fetchTimeoutMs,
      healthIntervalMs: options.healthIntervalMs ?? 2000,
      failureThreshold: options.failureThreshold ?? 3,
      cooldownMs: options.cooldownMs ?? 5000,
    });
    this.pool.start();
  }

  get ready(): boolean {
    return !this.closed;
  }

  canAccept(): boolean {
    return !this.closed && this.pool.pick() !== undefined;
  }

  upstreams(): UpstreamStatus[] {
    return this.pool.status();
  }

  info(): EngineInfo {
    return {
      path: this.pool.upstreams.map((u) => u.url).join(','),
      backend: 'remote',
      vocabSize: this.options.vocabSize ?? 0,
      maxModelLen: this.options.maxModelLen,
      bosTokenId: -1,
      eosTokenIds: [],
      hiddenSize: this.options.hiddenSize ?? 0,
      numLayers: 0,
      // Upstreams that do not embed refuse the request themselves (an error event here).
      embeddings: true,
    };
  }

  stats(): EngineStats {
    const running = this.pool.upstreams.reduce((s, u) => s + u.outstanding, 0);
    return {
      running,
      waiting: 0,
      kvBlocksUsed: 0,
      kvBlocksTotal: 0,
      prefixCacheQueries: 0,
      prefixCacheHits: 0,
      preemptions: 0,
      steps: 0,
      promptTokens: this.prompted,
      generationTokens: this.generated,
      lastStepMs: 0,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.pool.stop();
    for (const c of this.inflight) c.abort();
  }

  generate(request: EngineRequest, signal?: AbortSignal): AsyncIterable<EngineEvent> {
    if (this.closed) throw new Error('engine is closed');
    if (!request.promptTokens || request.promptTokens.length === 0)
      throw new RangeError('promptTokens must not be empty');
    return this.run({ ...request, id: request.id ?? randomUUID() }, signal);
  }

  private async *run(
    request: EngineRequest & { id: string },
    signal?: AbortSignal,
  ): AsyncGenerator<EngineEvent> {
    const tried = new Set<Upstream>();
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    this.inflight.add(controller);
    const started = Date.now();
    // What earlier attempts delivered: tokens (a resumed attempt's prompt suffix) and prompt scores.
    const produced: number[] = [];
    let promptScored = false;
    try {
      for (;;) {
        if (controller.signal.aborted) {
          yield this.final(request.id, 'abort', 0, 0, produced.length, started);
          return;
        }
        const attempt = continuationRequest(request, produced, promptScored);
        if (attempt === 'done') {
          // Every token arrived, only the end of the stream was lost.
          yield this.final(request.id, 'length', request.promptTokens.length, 0, produced.length, started);
          return;
        }
        const upstream = this.pool.pick(tried);
        if (!upstream || attempt === null) {
          const why =
            attempt === null
              ? 'the stream broke and structured output cannot resume'
              : 'no healthy upstream available';
          yield { ...this.final(request.id, 'error', 0, 0, produced.length, started), error: why };
          return;
        }
        tried.add(upstream);
        const carried = produced.length;
        if (carried > 0) this.resumedStreams++;
        upstream.outstanding++;
        upstream.breaker.begin();
        try {
          for await (const ev of this.stream(upstream, attempt, controller.signal, started)) {
            produced.push(...ev.newTokens);
            if (ev.promptLogprobs) promptScored = true;
            // A resumed stream bills as one: the client's prompt, and every token generated.
            yield ev.finished && carried > 0
              ? {
                  ...ev,
                  promptTokens: request.promptTokens.length,
                  cachedPromptTokens: Math.min(ev.cachedPromptTokens ?? 0, request.promptTokens.length),
                  generatedTokens: carried + (ev.generatedTokens ?? 0),
                }
              : ev;
          }
          upstream.breaker.success();
          return;
        } catch (err) {
          if (controller.signal.aborted) {
            upstream.breaker.success();
            yield this.final(request.id, 'abort', 0, 0, produced.length, started);
            return;
          }
          upstream.breaker.failure();
          if (!(err instanceof UpstreamError || err instanceof StreamBrokenError)) {
            yield {
              ...this.final(request.id, 'error', 0, 0, produced.length, started),
              error: `upstream ${upstream.url}: ${(err as Error).message}`,
            };
            return;
          }
          // Try another upstream: from the start, or resuming after the tokens so far.
        } finally {
          upstream.outstanding--;
        }
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.inflight.delete(controller);
      controller.abort();
    }
  }

  private final(
    id: string,
    reason: FinishReason,
    prompt: number,
    cached: number,
    generated: number,
    started: number,
  ): EngineEvent {
    const now = Date.now();
    return {
      id,
      newTokens: [],
      finished: true,
      reason,
      promptTokens: prompt,
      cachedPromptTokens: cached,
      generatedTokens: generated,
      timings: { queuedMs: started, scheduledMs: started, firstTokenMs: 0, finishedMs: now },
    };
  }

  /** POSTs `body` to the upstream; UpstreamError when another upstream may succeed. */
  private async post(
    u: Upstream,
    path: string,
    body: Record<string, unknown>,
    requestId: string,
    signal: AbortSignal,
  ): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${u.url}${path}`, {
        method: 'POST',
        headers: { ...this.pool.headers(u), 'content-type': 'application/json', 'x-request-id': requestId },
        body: JSON.stringify(body),
        signal,
      });
    } catch (err) {
      throw new UpstreamError((err as Error).message);
    }
    if (!res.ok || !res.body) {
      const text = await res.text().catch(() => '');
      // 4xx other than 429 is the request's fault: no retry elsewhere would help.
      if (res.status >= 400 && res.status < 500 && res.status !== 429)
        throw new Error(`HTTP ${res.status}: ${text.slice(0, 300)}`);
      throw new UpstreamError(`HTTP ${res.status}`);
    }
    return res;
  }

  private async embed(
    u: Upstream,
    model: string,
    request: EngineRequest & { id: string },
    signal: AbortSignal,
    started: number,
  ): Promise<EngineEvent> {
    const res = await this.post(
      u,
      '/v1/embeddings',
      { model, input: [Array.from(request.promptTokens)], encoding_format: 'base64' },
      request.id,
      signal,
    );
    let answer: EmbeddingsAnswer;
    try {
      answer = (await res.json()) as EmbeddingsAnswer;
    } catch (err) {
      throw new StreamBrokenError(`embeddings answer: ${(err as Error).message}`);
    }
    const b64 = answer.data?.[0]?.embedding;
    if (typeof b64 !== 'string') throw new StreamBrokenError('embeddings answer without a base64 vector');
    const bytes = Buffer.from(b64, 'base64');
    const embedding = new Float32Array(bytes.length / 4);
    for (let i = 0; i < embedding.length; i++) embedding[i] = bytes.readFloatLE(i * 4);
    const prompt = answer.usage?.prompt_tokens ?? request.promptTokens.length;
    this.prompted += prompt;
    return { ...this.final(request.id, 'stop', prompt, 0, 0, started), embedding };
  }

  private async *stream(
    u: Upstream,
    request: EngineRequest & { id: string },
    signal: AbortSignal,
    started: number,
  ): AsyncGenerator<EngineEvent> {
    const model = this.options.model ?? u.model;
    if (!model) throw new UpstreamError('upstream model unknown (health check has not answered yet)');
    if (request.embed) {
      yield await this.embed(u, model, request, signal, started);
      return;
    }
    const res = await this.post(u, '/v1/completions', completionBody(model, request), request.id, signal);
    if (!res.body) throw new UpstreamError('no response body');
    const wantTop = request.sampling?.logprobs;
    // With prompt scores the stream's first logprob entries are the echoed prompt's (the first
    // one unscored).
    let echoed = request.sampling?.promptLogprobs !== undefined ? request.promptTokens.length : 0;
    let reason: FinishReason | undefined;
    let generated = 0;
    let usage: Chunk['usage'];
    try {
      for await (const data of sseData(res.body)) {
        if (data === '[DONE]') break;
        const chunk = JSON.parse(data) as Chunk;
        if (chunk.error) throw new Error(chunk.error.message ?? 'upstream error');
        if (chunk.usage) usage = chunk.usage;
        const choice = chunk.choices?.[0];
        if (!choice) continue;
        const lp = choice.logprobs;
        const ids = (lp?.tokens ?? []).map(tokenIdOf).filter((t) => Number.isInteger(t));
        const fromPrompt = Math.min(echoed, ids.length);
        if (fromPrompt > 0) {
          const first = echoed === request.promptTokens.length ? 1 : 0;
          const promptLogprobs = ids
            .slice(first, fromPrompt)
            .map((token, i) => toLogprob(token, lp!, first + i));
          echoed -= fromPrompt;
          yield { id: request.id, newTokens: [], promptLogprobs, finished: false };
        }
        if (ids.length > fromPrompt) {
          const out = ids.slice(fromPrompt);
          generated += out.length;
          const ev: EngineEvent = { id: request.id, newTokens: out, finished: false };
          if (wantTop !== undefined)
            ev.logprobs = out.map((token, i) => toLogprob(token, lp!, fromPrompt + i));
          yield ev;
        }
        if (choice.finish_reason) reason = choice.finish_reason === 'length' ? 'length' : 'stop';
      }
    } catch (err) {
      if (signal.aborted) throw err;
      throw new StreamBrokenError((err as Error).message, { cause: err });
    }
    if (!reason) throw new StreamBrokenError('upstream stream ended without a finish_reason');
    this.generated += generated;
    this.prompted += usage?.prompt_tokens ?? request.promptTokens.length;
    yield this.final(
      request.id,
      reason,
      usage?.prompt_tokens ?? request.promptTokens.length,
      usage?.prompt_tokens_details?.cached_tokens ?? 0,
      usage?.completion_tokens ?? generated,
      started,
    );
  }
}

/** The upstream's answer to an embed request, as the engine's finishing event. */
interface EmbeddingsAnswer {
  data?: { embedding?: unknown }[];
  usage?: { prompt_tokens?: number };
}

function toLogprob(
  token: number,
  lp: NonNullable<NonNullable<Chunk['choices']>[number]['logprobs']>,
  i: number,
): TokenLogprob {
  const top = Object.entries(lp.top_logprobs?.[i] ?? {})
    .map(([name, logprob]) => ({ token: tokenIdOf(name), logprob }))
    .filter((t) => Number.isInteger(t.token))
    .sort((a, b) => b.logprob - a.logprob);
  return { token, logprob: lp.token_logprobs?.[i] ?? 0, top };
}
