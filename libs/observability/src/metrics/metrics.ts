import { Lane } from '@app/common';
import { SpanAttributes, Tracing } from '../tracing/tracing';
import { BUCKETS, counter, gauge, histogram } from './metric-catalog';

/** Why the lane scheduler refused a request (an engine that is down or a draining gateway answers 503 before any lane). */
export type LaneShedReason = 'queue_full' | 'queue_timeout';
/** Why a served model handed a request to its fallback (llm_model_fallbacks_total's `reason`). */
export type ModelFallbackReason = 'overloaded' | 'unavailable' | 'context_length';

/** llm_guardrail_triggers_total's labels: which check, on which side, and what it did. */
export type GuardrailTrigger = {
  guardrail: 'pii' | 'blocked_terms' | 'prompt_injection';
  direction: 'input' | 'output';
  action: 'redact' | 'block';
};

export type QuotaRejectionReason =
  | 'rpm'
  | 'tpm'
  | 'user_tpm'
  | 'user_daily_budget'
  | 'user_monthly_budget'
  | 'concurrency'
  | 'daily_budget'
  | 'monthly_budget'
  | 'max_tokens'
  | 'lane_not_allowed';

export interface MetricsSettings {
  /** METRICS_TENANT_LABELS: false = no per-tenant series at all (cardinality). */
  tenantLabels: boolean;
}

/**
 * The small facade other libraries call to feed the lane, quota, metering and per-tenant
 * series of docs/metrics.md. Inject it with @Optional(): libraries work without MetricsModule.
 * Every method is cheap, synchronous and never throws.
 */
export class Metrics {
  private readonly laneDepth = gauge({
    name: 'llm_lane_queue_depth',
    help: 'Requests queued in the lane scheduler, not yet handed to the engine.',
    labelNames: ['lane'],
  });
  private readonly laneWait = histogram({
    name: 'llm_lane_wait_seconds',
    help: 'Time from enqueue to hand-off to the engine, for admitted requests.',
    labelNames: ['lane'],
    buckets: BUCKETS.laneWait,
  });
  private readonly laneRequests = counter({
    name: 'llm_lane_requests_total',
    help: 'Requests offered to the lane scheduler (admitted or shed).',
    labelNames: ['lane'],
  });
  private readonly laneShed = counter({
    name: 'llm_lane_shed_total',
    help: 'Requests refused by the lane scheduler, by reason.',
    labelNames: ['lane', 'reason'],
  });
  private readonly modelFallbacks = counter({
    name: 'llm_model_fallbacks_total',
    help: 'Requests a served model refused and handed to a fallback model (MODELS_FILE), by reason.',
    labelNames: ['model_name', 'fallback', 'reason'],
  });
  private readonly modelReloads = counter({
    name: 'llm_model_reloads_total',
    help: 'MODELS_FILE reloads (admin endpoint or SIGHUP): applied, or refused with nothing changed.',
    labelNames: ['result'],
  });
  private readonly batchLines = counter({
    name: 'llm_batch_lines_total',
    help: 'Request lines of batches (/v1/batches): answered 2xx, answered with an error, or waited and ran again.',
    labelNames: ['result'],
  });
  private readonly batchesEnded = counter({
    name: 'llm_batches_total',
    help: 'Batches that ended, by final status.',
    labelNames: ['status'],
  });
  private readonly guardrailTriggers = counter({
    name: 'llm_guardrail_triggers_total',
    help: 'Guardrail actions: requests refused (block) and pieces of personal data replaced (redact).',
    labelNames: ['guardrail', 'direction', 'action'],
  });
  private readonly quotaRejections = counter({
    name: 'llm_quota_rejections_total',
    help: 'Requests refused by quotas, by reason.',
    labelNames: ['reason'],
  });
  private readonly meteringBuffer = gauge({
    name: 'llm_metering_buffer_depth',
    help: 'Usage events waiting in memory for the next batch write.',
  });
  private readonly meteringFlush = histogram({
    name: 'llm_metering_flush_seconds',
    help: 'Duration of one batch write of usage events to Postgres (success or failure).',
    buckets: BUCKETS.meteringFlush,
  });
  private readonly meteringJournal = gauge({
    name: 'llm_metering_journal_bytes',
    help: 'Size of the local journal of usage events not yet written to Postgres; 0 when drained.',
  });
  private readonly meteringFailures = counter({
    name: 'llm_metering_write_failures_total',
    help: 'Batch writes of usage events that failed (the events went to the journal).',
  });
  private readonly tenantTokens = counter({
    name: 'llm_tenant_tokens_total',
    help: 'Tokens per tenant, by kind (prompt, generation).',
    labelNames: ['tenant', 'kind'],
  });

  private readonly refreshers = new Set<() => void>();

  constructor(
    private readonly settings: MetricsSettings = { tenantLabels: true },
    private readonly tracing: Tracing | null = null,
  ) {
    // Series that exist from the start, so rate() and absent() work before the first event.
    for (const lane of ['interactive', 'standard', 'batch'] as const) {
      this.laneDepth.set({ lane }, 0);
      this.laneRequests.inc({ lane }, 0);
    }
    this.meteringBuffer.set(0);
    this.meteringJournal.set(0);
    this.meteringFailures.inc(0);
  }

  /**
   * Registers a reading taken before every scrape and every poll (e.g. queue depths from a
   * stats() call). Returns a function that unregisters it.
   */
  onRefresh(read: () => void): () => void {
    this.refreshers.add(read);
    return () => this.refreshers.delete(read);
  }

  /** Runs the registered readings (the collector calls this); a failing one is skipped. */
  refresh(): void {
    for (const read of this.refreshers) {
      try {
        read();
      } catch {
        // a broken reading never breaks /metrics
      }
    }
  }

  // ---- tracing (no-ops unless OTEL_EXPORTER_OTLP_ENDPOINT is set) ----
  /** Runs fn in a span of the current request's trace (see SPAN for the standard names). */
  span<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
    if (!this.tracing?.enabled) return Promise.resolve().then(fn);
    return this.tracing.span(undefined, name, fn);
  }
  /** Records a span of the current request's trace that already happened (epoch ms). */
  spanDone(name: string, startMs: number, endMs: number, attributes?: SpanAttributes): void {
    if (this.tracing?.enabled) this.tracing.recordSpan(undefined, name, startMs, endMs, attributes);
  }

  // ---- lanes (LaneScheduler) ----
  /** A request was offered to a lane (call once per request, admitted or shed). */
  laneOffered(lane: Lane): void {
    this.laneRequests.inc({ lane });
  }
  /** The current number of requests queued in a lane. */
  laneQueueDepth(lane: Lane, depth: number): void {
    this.laneDepth.set({ lane }, depth);
  }
  /** An admitted request waited this long (ms) between enqueue and hand-off. */
  laneAdmitted(lane: Lane, waitedMs: number): void {
    this.laneWait.observe({ lane }, Math.max(0, waitedMs) / 1000);
  }
  laneShedded(lane: Lane, reason: LaneShedReason): void {
    this.laneShed.inc({ lane, reason });
  }

  // ---- model routing ----
  /** `model` refused a request (`reason`) and `fallback` is tried next. */
  modelFellBack(model: string, fallback: string, reason: ModelFallbackReason): void {
    this.modelFallbacks.inc({ model_name: model, fallback, reason });
  }

  /** A MODELS_FILE reload was applied, or refused (invalid file, a model that did not load). */
  modelsReloaded(result: 'applied' | 'refused'): void {
    this.modelReloads.inc({ result });
  }

  // ---- batches ----
  /** A batch line was answered (2xx or an error), or refused for now and will run again. */
  batchLine(result: 'succeeded' | 'failed' | 'retried'): void {
    this.batchLines.inc({ result });
  }

  /** A batch ended: completed, failed (validation), cancelled or expired. */
  batchEnded(status: 'completed' | 'failed' | 'cancelled' | 'expired'): void {
    this.batchesEnded.inc({ status });
  }

  // ---- guardrails ----
  /** A request was refused, or `count` pieces of personal data were replaced. */
  guardrailTriggered(trigger: GuardrailTrigger, count = 1): void {
    if (count > 0) this.guardrailTriggers.inc(trigger, count);
  }

  // ---- quotas ----
  quotaRejected(reason: QuotaRejectionReason): void {
    this.quotaRejections.inc({ reason });
  }

  // ---- metering ----
  meteringBufferDepth(events: number): void {
    this.meteringBuffer.set(events);
  }
  /** One batch write finished (ok or not) after `ms`; failures also count a write failure. */
  meteringFlushed(ms: number, ok: boolean): void {
    this.meteringFlush.observe(Math.max(0, ms) / 1000);
    if (!ok) this.meteringFailures.inc();
  }
  meteringJournalBytes(bytes: number): void {
    this.meteringJournal.set(bytes);
  }

  // ---- tenants ----
  /** Tokens used by one request of a tenant (called where usage is recorded). */
  tenantUsage(tenantId: string, promptTokens: number, generationTokens: number): void {
    if (!this.settings.tenantLabels) return;
    if (promptTokens > 0) this.tenantTokens.inc({ tenant: tenantId, kind: 'prompt' }, promptTokens);
    if (generationTokens > 0)
      this.tenantTokens.inc({ tenant: tenantId, kind: 'generation' }, generationTokens);
  }
}
