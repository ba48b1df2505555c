/**
 * The parts of @app/engine's EngineProvider that observability reads, declared structurally
 * (observability and engine are on the same floor and do not import each other; the gateway
 * hands the provider over by its DI token).
 */
export interface ObservedEngineStats {
  running: number;
  waiting: number;
  kvBlocksUsed: number;
  kvBlocksTotal: number;
  prefixCacheQueries: number;
  prefixCacheHits: number;
  preemptions: number;
  steps: number;
  promptTokens: number;
  generationTokens: number;
  /** Speculative decoding (native engine): draft tokens computed and accepted. */
  specDraftTokens?: number;
  specAcceptedTokens?: number;
  lastStepMs: number;
}

export interface ObservedEngineEvent {
  id: string;
  newTokens: number[];
  finished: boolean;
  reason?: 'stop' | 'length' | 'abort' | 'error';
  error?: string;
  promptTokens?: number;
  cachedPromptTokens?: number;
  generatedTokens?: number;
  timings?: { queuedMs: number; scheduledMs: number; firstTokenMs: number; finishedMs: number };
}

export interface ObservedEngine {
  readonly ready: boolean;
  stats(): ObservedEngineStats;
  /** The steps since the last call (the native engine): time and tokens of each. */
  drainSteps?(): { ms: ArrayLike<number>; tokens: ArrayLike<number> };
  generate(request: unknown, signal?: AbortSignal): AsyncIterable<ObservedEngineEvent>;
}
