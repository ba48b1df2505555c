import type { Quantization } from '@app/common';

/** Sampling parameters of one request (camelCase mirror of native/include/llm/engine.h). */
export interface SamplingOptions {
  /** 0 = greedy. Default 1. */
  temperature?: number;
  /** 0 disables. */
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** token id -> bias, or [tokenId, bias] pairs. */
  logitBias?: Record<number, number> | Array<[number, number]>;
  /** Same seed, same output, whatever else is in the batch. */
  seed?: number;
  stopTokenIds?: number[];
  /** Default 16. */
  maxTokens?: number;
  minTokens?: number;
  ignoreEos?: boolean;
  /** Number of top alternatives (0..20) besides the sampled token's logprob; unset: none. */
  logprobs?: number;
  /**
   * Score the prompt: each prompt token's logprob after the first (raw model) with this many top
   * alternatives (0..20); unset: none. maxTokens may then be 0. Engines with promptLogprobs.
   */
  promptLogprobs?: number;
  /**
   * 'json_object': every token keeps the output a prefix of one JSON object; 'json_schema': of one
   * value matching `jsonSchema` (a JSON Schema document as text). EOS only once complete.
   */
  responseFormat?: 'text' | 'json_object' | 'json_schema' | 'choice';
  jsonSchema?: string;
  /** responseFormat 'choice' (vLLM's guided_choice): the output is exactly one of these. */
  choices?: string[];
}

export interface EngineRequest {
  /** Unique among in-flight requests; generated when omitted. */
  id?: string;
  promptTokens: number[] | Int32Array;
  /** Lower runs first. Default 0. */
  priority?: number;
  /** Isolates prefix-cache entries (e.g. per tenant). */
  cacheSalt?: string;
  sampling?: SamplingOptions;
  /**
   * An embedding instead of generation (engines whose info().embeddings): the finishing event's
   * `embedding` is the final-normed hidden state of the last prompt token; nothing is generated.
   */
  embed?: boolean;
}

export type FinishReason = 'stop' | 'length' | 'abort' | 'error';

export interface TokenLogprob {
  token: number;
  logprob: number;
  top: Array<{ token: number; logprob: number }>;
}

export interface RequestTimings {
  /** Milliseconds since the Unix epoch; 0 when it did not happen. */
  queuedMs: number;
  scheduledMs: number;
  firstTokenMs: number;
  finishedMs: number;
}

/** One step's output for one request. The finishing event carries the totals and timings. */
export interface EngineEvent {
  id: string;
  newTokens: number[];
  logprobs?: TokenLogprob[];
  /** SamplingOptions.promptLogprobs: the scores of the next prompt tokens, in order. */
  promptLogprobs?: TokenLogprob[];
  /** EngineRequest.embed, on the finishing event: hiddenSize floats (not normalized). */
  embedding?: Float32Array;
  finished: boolean;
  reason?: FinishReason;
  error?: string;
  promptTokens?: number;
  cachedPromptTokens?: number;
  generatedTokens?: number;
  timings?: RequestTimings;
}

export interface EngineStats {
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
  /** Speculative decoding: draft tokens computed, and of them accepted (native engine). */
  specDraftTokens?: number;
  specAcceptedTokens?: number;
  lastStepMs: number;
}

/** The engine steps since the last drainSteps() call, oldest first (parallel arrays). */
export interface StepSamples {
  /** Wall time of each step: schedule + forward + sample. */
  ms: ArrayLike<number>;
  /** Prompt tokens computed + tokens generated in each step. */
  tokens: ArrayLike<number>;
}

export interface EngineInfo {
  path: string;
  backend: string;
  /** Weight quantization of the native engine (QUANTIZATIONS); absent for remote upstreams. */
  quantization?: string;
  vocabSize: number;
  maxModelLen: number;
  bosTokenId: number;
  eosTokenIds: number[];
  hiddenSize: number;
  numLayers: number;
  /** Whether EngineRequest.embed is served (native engines, remote ones; absent: no). */
  embeddings?: boolean;
}

/** Options of the native engine (see native/include/llm/engine.h). */
export interface NativeEngineOptions {
  modelPath: string;
  maxNumSeqs?: number;
  maxNumBatchedTokens?: number;
  maxModelLen?: number;
  blockSize?: number;
  kvCacheBytes?: number;
  kvCacheFraction?: number;
  threads?: number;
  device?: 'auto' | 'cpu' | 'cuda';
  /** Weight quantization (CPU backend only; a GPU refuses it): see QUANTIZATION in config.schema.ts. */
  quantization?: Quantization;
  /** Speculative decoding by prompt lookup: draft tokens per decoding sequence and step (0: off). */
  speculativeTokens?: number;
  enablePrefixCaching?: boolean;
}
