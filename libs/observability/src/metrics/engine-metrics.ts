import { BUCKETS, counter, gauge, histogram } from './metric-catalog';
import { ObservedEngine, ObservedEngineEvent, ObservedEngineStats } from './observed-engine';
import { SPAN, Tracing } from '../tracing/tracing';

export interface EngineMetricsOptions {
  modelName: string;
  /** `llm_engine_up{provider, model_name}`: native or remote. */
  provider: string;
  /** KV block size in tokens (the engine counts prefix-cache queries and hits in blocks). */
  blockSize: number;
}

type Counters = Required<
  Pick<
    ObservedEngineStats,
    | 'prefixCacheQueries'
    | 'prefixCacheHits'
    | 'preemptions'
    | 'steps'
    | 'promptTokens'
    | 'generationTokens'
    | 'specDraftTokens'
    | 'specAcceptedTokens'
  >
>;

/** Most synthetic observations per refresh for the per-step histograms (see refresh()). */
const MAX_STEP_OBSERVATIONS = 10_000;

/** Classifies an engine error message into llm_engine_errors_total's `kind`. */
export function engineErrorKind(message: string | undefined): 'cuda' | 'out_of_memory' | 'internal' {
  const text = (message ?? '').toLowerCase();
  if (/out of memory|\boom\b|alloc/.test(text)) return 'out_of_memory';
  if (/cuda|cublas|driver|nvml|gpu/.test(text)) return 'cuda';
  return 'internal';
}

/**
 * vLLM-compatible engine series (llm_*): gauges and counters from EngineProvider.stats() on each
 * refresh (every poll and every scrape), per-request histograms from the events of each stream.
 */
export class EngineMetrics {
  private readonly labels: { model_name: string };
  private last: Counters | null = null;

  private readonly running = gauge({
    name: 'llm_num_requests_running',
    help: "Sequences in the engine's running batch.",
    labelNames: ['model_name'],
  });
  private readonly waiting = gauge({
    name: 'llm_num_requests_waiting',
    help: 'Sequences submitted to the engine and waiting to be scheduled (includes preempted).',
    labelNames: ['model_name'],
  });
  private readonly kvUsage = gauge({
    name: 'llm_kv_cache_usage_perc',
    help: 'Fraction of KV cache blocks in use, 0..1.',
    labelNames: ['model_name'],
  });
  private readonly prefixQueries = counter({
    name: 'llm_prefix_cache_queries_total',
    help: 'Prompt tokens looked up in the prefix cache.',
    labelNames: ['model_name'],
  });
  private readonly prefixHits = counter({
    name: 'llm_prefix_cache_hits_total',
    help: 'Prompt tokens found in the prefix cache (not recomputed).',
    labelNames: ['model_name'],
  });
  private readonly preemptions = counter({
    name: 'llm_num_preemptions_total',
    help: 'Sequences preempted (KV blocks reclaimed, recomputed later).',
    labelNames: ['model_name'],
  });
  private readonly promptTokens = counter({
    name: 'llm_prompt_tokens_total',
    help: 'Prompt tokens prefilled (cache hits included, as in vLLM).',
    labelNames: ['model_name'],
  });
  private readonly generationTokens = counter({
    name: 'llm_generation_tokens_total',
    help: 'Tokens generated.',
    labelNames: ['model_name'],
  });
  private readonly specDraftTokens = counter({
    name: 'llm_spec_decode_num_draft_tokens_total',
    help: 'Draft tokens computed by speculative decoding (SPECULATIVE_NGRAM_TOKENS).',
    labelNames: ['model_name'],
  });
  private readonly specAcceptedTokens = counter({
    name: 'llm_spec_decode_num_accepted_tokens_total',
    help: 'Draft tokens accepted by speculative decoding (each one a generated token).',
    labelNames: ['model_name'],
  });
  private readonly success = counter({
    name: 'llm_request_success_total',
    help: 'Engine requests finished, by finished_reason (stop, length, abort, error).',
    labelNames: ['model_name', 'finished_reason'],
  });
  private readonly ttft = histogram({
    name: 'llm_time_to_first_token_seconds',
    help: 'From engine arrival to the first generated token.',
    labelNames: ['model_name'],
    buckets: BUCKETS.ttft,
  });
  private readonly itl = histogram({
    name: 'llm_inter_token_latency_seconds',
    help: 'Time between consecutive output tokens of one request.',
    labelNames: ['model_name'],
    buckets: BUCKETS.itl,
  });
  private readonly e2e = histogram({
    name: 'llm_e2e_request_latency_seconds',
    help: "From engine arrival to the request's finish.",
    labelNames: ['model_name'],
    buckets: BUCKETS.latency,
  });
  private readonly queue = histogram({
    name: 'llm_request_queue_time_seconds',
    help: 'Time a request spent waiting in the engine before its first scheduling.',
    labelNames: ['model_name'],
    buckets: BUCKETS.latency,
  });
  private readonly prefill = histogram({
    name: 'llm_request_prefill_time_seconds',
    help: 'Time from first scheduling to the first token (prefill phase).',
    labelNames: ['model_name'],
    buckets: BUCKETS.latency,
  });
  private readonly decode = histogram({
    name: 'llm_request_decode_time_seconds',
    help: 'Time from the first token to the last (decode phase).',
    labelNames: ['model_name'],
    buckets: BUCKETS.latency,
  });
  private readonly iterationTokens = histogram({
    name: 'llm_iteration_tokens_total',
    help: 'Tokens (prefill + decode) processed per engine step.',
    labelNames: ['model_name'],
    buckets: BUCKETS.iterationTokens,
  });
  private readonly stepSeconds = histogram({
    name: 'llm_engine_step_seconds',
    help: 'Wall time of one engine step (schedule + forward + sample).',
    labelNames: ['model_name'],
    buckets: BUCKETS.step,
  });
  private readonly up = gauge({
    name: 'llm_engine_up',
    help: '1 while the engine can serve, 0 otherwise.',
    labelNames: ['provider', 'model_name'],
  });
  private readonly errors = counter({
    name: 'llm_engine_errors_total',
    help: 'Engine failures by kind (cuda, out_of_memory, internal).',
    labelNames: ['model_name', 'kind'],
  });

  constructor(
    private readonly engine: ObservedEngine,
    private readonly options: EngineMetricsOptions,
    private readonly tracing?: Tracing,
  ) {
    this.labels = { model_name: options.modelName };
    for (const reason of ['stop', 'length', 'abort', 'error'])
      this.success.inc({ ...this.labels, finished_reason: reason }, 0);
    for (const kind of ['cuda', 'out_of_memory', 'internal']) this.errors.inc({ ...this.labels, kind }, 0);
  }

  /** Reads engine.stats() into the gauges and counters. Never throws. */
  /** A model no longer served: up, running, waiting and KV usage read 0. */
  markDown(): void {
    this.up.set({ ...this.labels, provider: this.options.provider }, 0);
    if (this.options.provider !== 'native') return;
    this.running.set(this.labels, 0);
    this.waiting.set(this.labels, 0);
    this.kvUsage.set(this.labels, 0);
  }

  refresh(): void {
    const ready = this.engine.ready;
    this.up.set({ ...this.labels, provider: this.options.provider }, ready ? 1 : 0);
    if (!ready) return;
    let s: ObservedEngineStats;
    try {
      s = this.engine.stats();
    } catch {
      this.up.set({ ...this.labels, provider: this.options.provider }, 0);
      return;
    }
    const l = this.labels;
    if (this.options.provider !== 'native') {
      // A remote provider has no KV cache, scheduler or steps of its own here: only the token
      // counters and the per-request histograms are meaningful (engine hosts export the rest).
      this.countTokens(s);
      return;
    }
    this.running.set(l, s.running);
    this.waiting.set(l, s.waiting);
    this.kvUsage.set(l, s.kvBlocksTotal > 0 ? s.kvBlocksUsed / s.kvBlocksTotal : 0);

    const prev = this.last ?? zeroCounters();
    const now = pickCounters(s);
    this.last = now;
    // A counter that went down means a new engine: count from zero again.
    const delta = (k: keyof Counters): number => (now[k] >= prev[k] ? now[k] - prev[k] : now[k]);
    const bs = this.options.blockSize;
    const hits = delta('prefixCacheHits') * bs;
    this.prefixQueries.inc(l, delta('prefixCacheQueries') * bs);
    this.prefixHits.inc(l, hits);
    this.preemptions.inc(l, delta('preemptions'));
    // The engine counts prompt tokens it computed; vLLM's counter includes the cache hits.
    this.promptTokens.inc(l, delta('promptTokens') + hits);
    const generated = delta('generationTokens');
    this.generationTokens.inc(l, generated);
    this.specDraftTokens.inc(l, delta('specDraftTokens'));
    this.specAcceptedTokens.inc(l, delta('specAcceptedTokens'));

    if (this.engine.drainSteps) {
      // Every step since the last refresh, as the engine timed it.
      let drained: { ms: ArrayLike<number>; tokens: ArrayLike<number> };
      try {
        drained = this.engine.drainSteps();
      } catch {
        return; // closed between stats() and here: nothing more to record
      }
      const { ms, tokens } = drained;
      for (let i = 0; i < ms.length; i++) {
        this.iterationTokens.observe(l, tokens[i]);
        this.stepSeconds.observe(l, ms[i] / 1000);
      }
      return;
    }
    // An engine without drainSteps() exposes cumulative step counts and the last step's time:
    // the steps since the last refresh are recorded at their mean token count and at the last
    // step time (_count and, for tokens, _sum are exact; the spread within one refresh is not).
    const steps = delta('steps');
    if (steps > 0) {
      const n = Math.min(steps, MAX_STEP_OBSERVATIONS);
      const tokensPerStep = (delta('promptTokens') + generated) / steps;
      for (let i = 0; i < n; i++) {
        this.iterationTokens.observe(l, tokensPerStep);
        this.stepSeconds.observe(l, s.lastStepMs / 1000);
      }
    }
  }

  private countTokens(s: ObservedEngineStats): void {
    const prev = this.last ?? zeroCounters();
    this.last = pickCounters(s);
    const d = (k: 'promptTokens' | 'generationTokens') => (s[k] >= prev[k] ? s[k] - prev[k] : s[k]);
    this.promptTokens.inc(this.labels, d('promptTokens'));
    this.generationTokens.inc(this.labels, d('generationTokens'));
  }

  /** Wraps a stream of engine events: inter-token latency per token, timings on the finish. */
  observe(stream: AsyncIterable<ObservedEngineEvent>): AsyncIterable<ObservedEngineEvent> {
    const onEvent = this.onEvent.bind(this);
    return (async function* observed() {
      const state = { lastTokenAt: null as number | null };
      for await (const event of stream) {
        onEvent(event, state);
        yield event;
      }
    })();
  }

  private onEvent(event: ObservedEngineEvent, state: { lastTokenAt: number | null }): void {
    try {
      const n = event.newTokens.length;
      if (n > 0) {
        const now = performance.now();
        if (state.lastTokenAt !== null) {
          const per = (now - state.lastTokenAt) / n / 1000;
          for (let i = 0; i < n; i++) this.itl.observe(this.labels, per);
        }
        state.lastTokenAt = now;
      }
      if (event.finished) this.finished(event);
    } catch {
      // metrics never break a stream
    }
  }

  private finished(event: ObservedEngineEvent): void {
    const l = this.labels;
    const reason = event.reason ?? 'stop';
    this.success.inc({ ...l, finished_reason: reason });
    if (reason === 'error') this.errors.inc({ ...l, kind: engineErrorKind(event.error) });
    const t = event.timings;
    if (!t || !t.queuedMs) return;
    if (this.tracing?.enabled) {
      const attrs = { 'llm.engine_request_id': event.id, 'llm.finished_reason': reason };
      this.tracing.recordSpan(event.id, SPAN.prefill, t.scheduledMs, t.firstTokenMs, {
        ...attrs,
        'llm.prompt_tokens': event.promptTokens ?? 0,
        'llm.cached_prompt_tokens': event.cachedPromptTokens ?? 0,
      });
      this.tracing.recordSpan(event.id, SPAN.decode, t.firstTokenMs, t.finishedMs, {
        ...attrs,
        'llm.generated_tokens': event.generatedTokens ?? 0,
      });
    }
    const s = (from: number, to: number): number | null =>
      from > 0 && to >= from ? (to - from) / 1000 : null;
    const observe = (h: typeof this.ttft, v: number | null): void => {
      if (v !== null) h.observe(l, v);
    };
    observe(this.queue, s(t.queuedMs, t.scheduledMs));
    observe(this.prefill, s(t.scheduledMs, t.firstTokenMs));
    observe(this.ttft, s(t.queuedMs, t.firstTokenMs));
    observe(this.decode, s(t.firstTokenMs, t.finishedMs));
    observe(this.e2e, s(t.queuedMs, t.finishedMs));
  }

  /**
   * Makes every engine.generate() stream observed, whoever calls it (the provider instance is
   * shared through DI). Returns a function that restores the original method.
   */
  instrument(): () => void {
    const engine = this.engine as ObservedEngine & { generate: ObservedEngine['generate'] };
    const original = engine.generate;
    const observe = this.observe.bind(this);
    engine.generate = function generate(this: ObservedEngine, request: unknown, signal?: AbortSignal) {
      // Synchronous argument errors still throw from generate() itself.
      return observe(original.call(this, request, signal));
    };
    return () => {
      engine.generate = original;
    };
  }
}

function zeroCounters(): Counters {
  return {
    prefixCacheQueries: 0,
    prefixCacheHits: 0,
    preemptions: 0,
    steps: 0,
    promptTokens: 0,
    generationTokens: 0,
    specDraftTokens: 0,
    specAcceptedTokens: 0,
  };
}

function pickCounters(s: ObservedEngineStats): Counters {
  return {
    prefixCacheQueries: s.prefixCacheQueries,
    prefixCacheHits: s.prefixCacheHits,
    preemptions: s.preemptions,
    steps: s.steps,
    promptTokens: s.promptTokens,
    generationTokens: s.generationTokens,
    specDraftTokens: s.specDraftTokens ?? 0,
    specAcceptedTokens: s.specAcceptedTokens ?? 0,
  };
}
