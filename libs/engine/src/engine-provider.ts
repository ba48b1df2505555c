import { EngineEvent, EngineInfo, EngineRequest, EngineStats, StepSamples } from './engine.types';

/** Injection token of the EngineProvider the platform runs on. */
export const ENGINE_PROVIDER = Symbol('ENGINE_PROVIDER');

/**
 * An inference engine: token ids in, a stream of token events out. Implementations: the native
 * in-process engine (NativeEngineProvider); remote upstreams later.
 */
export interface EngineProvider {
  /** True once the model is loaded and requests are accepted. */
  readonly ready: boolean;
  /**
   * False when a request sent now would fail at once (remote: no healthy upstream whose circuit
   * lets requests through), so the gateway answers 503 (or a fallback model) before billing it.
   */
  canAccept?(): boolean;
  /**
   * Queues a request and streams its events; the last one has finished = true. Bad arguments
   * throw synchronously (TypeError / RangeError / Error). Aborting `signal` (or leaving the
   * loop early) aborts the request and frees its KV cache blocks.
   */
  generate(request: EngineRequest, signal?: AbortSignal): AsyncIterable<EngineEvent>;
  stats(): EngineStats;
  /** Engines with steps of their own (the native one): the steps since the last call. */
  drainSteps?(): StepSamples;
  /**
   * Engines that compile JSON Schemas themselves (the native one): null, or why this schema is
   * outside what they decode to. Others (remote upstreams) judge schemas on their side.
   */
  checkJsonSchema?(schemaText: string): string | null;
  /** True for engines that score prompts (SamplingOptions.promptLogprobs): the native one. */
  readonly promptLogprobs?: boolean;
  info(): EngineInfo;
  /** Aborts everything in flight and releases the engine. Idempotent. */
  close(): Promise<void>;
}
