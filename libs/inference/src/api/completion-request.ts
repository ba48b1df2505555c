import { checkNumber, checkString, invalid, ParamReader, typeName } from './param-reader';
import {
  COMMON_PARAMS,
  LIMITS,
  openGenerationRequest,
  readSampling,
  SamplingRequest,
} from './sampling-params';

/** A prompt as text (tokenized with BOS) or as token ids (used as given). */
export type PromptInput = { text: string } | { tokens: number[] };

export interface CompletionRequest {
  model: string;
  prompts: PromptInput[];
  sampling: SamplingRequest;
  /** vLLM's extension: logprobs tokens as "token_id:<id>" (used by the remote provider). */
  tokensAsIds: boolean;
  /** The answer starts with the prompt (and, with logprobs, the prompt tokens' scores). */
  echo: boolean;
}

const MAX_PROMPTS = LIMITS.maxSequences;
const ALLOWED = new Set([...COMMON_PARAMS, 'prompt', 'echo', 'best_of', 'return_tokens_as_token_ids']);
const UNSUPPORTED: Record<string, string> = {
  suffix: 'is not supported: this model has no fill-in-the-middle mode.',
  max_completion_tokens: "is not supported on completions; use 'max_tokens'.",
  top_logprobs: "is not supported on completions; use 'logprobs' (an integer).",
};

function tokenList(v: unknown[], at: string, vocabSize: number): number[] {
  if (v.length === 0) throw invalid(at, `'${at}' must not be an empty token list.`);
  return v.map((t) => checkNumber(at, t, { int: true, min: 0, max: vocabSize - 1 }));
}

/**
 * A string, an array of strings, an array of token ids or an array of token-id arrays (OpenAI's
 * `prompt` of completions, `input` of embeddings), at most LIMITS.maxSequences of them.
 * `nonEmpty`: an empty string is refused too (embeddings).
 */
export function readPromptList(
  r: ParamReader,
  param: string,
  vocabSize: number,
  nonEmpty = false,
): PromptInput[] {
  if (!r.has(param))
    throw invalid(param, `Missing required parameter: '${param}'.`, 'missing_required_parameter');
  const text = (at: string, x: string) => {
    if (nonEmpty && x === '') throw invalid(at, `'${at}' must not be an empty string.`);
    return { text: checkString(at, x) };
  };
  const v = r.raw(param);
  if (typeof v === 'string') return [text(param, v)];
  if (!Array.isArray(v)) {
    throw invalid(
      param,
      `'${param}' must be a string, an array of strings or token ids, got ${typeName(v)}.`,
      'invalid_type',
    );
  }
  if (v.length === 0) throw invalid(param, `'${param}' must not be an empty array.`);
  if (v.every((x) => typeof x === 'number')) return [{ tokens: tokenList(v, param, vocabSize) }];
  if (v.length > MAX_PROMPTS) throw invalid(param, `'${param}' may hold at most ${MAX_PROMPTS} items.`);
  return v.map((x: unknown, i) => {
    if (typeof x === 'string') return text(`${param}[${i}]`, x);
    if (Array.isArray(x)) return { tokens: tokenList(x, `${param}[${i}]`, vocabSize) };
    throw invalid(
      `${param}[${i}]`,
      `'${param}[${i}]' must be a string or an array of token ids, got ${typeName(x)}.`,
      'invalid_type',
    );
  });
}

/** Validates a POST /v1/completions body with OpenAI's rules. */
export function parseCompletionRequest(body: unknown, vocabSize: number): CompletionRequest {
  const { r, model } = openGenerationRequest(body, ALLOWED, UNSUPPORTED);
  const prompts = readPromptList(r, 'prompt', vocabSize);
  const echo = r.bool('echo') ?? false;
  const logprobs = r.number('logprobs', { int: true, min: 0, max: LIMITS.maxLogprobsCompletion }) ?? null;
  // With echo, max_tokens 0 scores or repeats the prompt only (as evaluation harnesses use it).
  const sampling = readSampling(r, vocabSize, logprobs, echo ? 0 : 1);
  if (echo) sampling.promptLogprobs = logprobs;
  const bestOf = r.number('best_of', { int: true, min: 1, max: LIMITS.maxN });
  if (bestOf !== undefined && bestOf !== sampling.n) {
    throw invalid(
      'best_of',
      "Unsupported parameter: 'best_of' other than 'n' is not supported.",
      'unsupported_parameter',
    );
  }
  if (prompts.length * sampling.n > LIMITS.maxSequences) {
    throw invalid('n', `'n' times the number of prompts may be at most ${LIMITS.maxSequences}.`);
  }
  if (sampling.maxTokens === undefined) sampling.maxTokens = 16; // OpenAI's default for completions
  const tokensAsIds = r.bool('return_tokens_as_token_ids') ?? false;
  return { model, prompts, sampling, tokensAsIds, echo };
}
