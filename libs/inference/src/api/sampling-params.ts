import {
  checkNumber,
  checkString,
  invalid,
  isPlainObject,
  NAME_PATTERN,
  objectBody,
  onlyFields,
  ParamReader,
} from './param-reader';

export type ServiceTier = 'auto' | 'default' | 'flex' | 'priority';
export const SERVICE_TIERS: readonly ServiceTier[] = ['auto', 'default', 'flex', 'priority'];

export const LIMITS = {
  maxN: 16,
  maxChoices: 1024,
  maxChoiceLength: 1024,
  /** Sequences in one request (prompts x n); past the engine's capacity they run in waves. */
  maxSequences: 2048,
  maxStop: 4,
  maxStopLength: 256,
  maxStopTokenIds: 64,
  maxLogitBias: 300,
  maxTopLogprobsChat: 20,
  maxLogprobsCompletion: 5,
  maxSeed: Number.MAX_SAFE_INTEGER,
  maxUserLength: 256,
};

/** Sampling and output options common to chat and text completions, validated. */
export interface SamplingRequest {
  maxTokens?: number;
  maxTokensParam: string;
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  n: number;
  stop: string[];
  stopTokenIds: number[];
  seed?: number;
  presencePenalty: number;
  frequencyPenalty: number;
  repetitionPenalty?: number;
  logitBias: [number, number][];
  /** Number of top alternatives per token; null = no logprobs. */
  logprobs: number | null;
  /** Completions with echo and logprobs: score the prompt with this many alternatives. */
  promptLogprobs: number | null;
  stream: boolean;
  includeUsage: boolean;
  user?: string;
  serviceTier?: ServiceTier;
  ignoreEos: boolean;
  minTokens: number;
  /** response_format: json_object / json_schema constrain the output (the engine's grammar). */
  responseFormat: ResponseFormat;
}

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  /** `schema`: the JSON Schema document as JSON text, for the engine. */
  | { type: 'json_schema'; name: string; schema: string }
  /** vLLM's guided_choice: the output is exactly one of `choices`. */
  | { type: 'choice'; choices: string[] };

export const COMMON_PARAMS = [
  'model',
  'max_tokens',
  'temperature',
  'top_p',
  'top_k',
  'min_p',
  'n',
  'stop',
  'stop_token_ids',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'repetition_penalty',
  'logit_bias',
  'logprobs',
  'stream',
  'stream_options',
  'user',
  'service_tier',
  'ignore_eos',
  'min_tokens',
  'response_format',
  'guided_json',
  'guided_choice',
];

function readStop(r: ParamReader): string[] {
  if (!r.has('stop')) return [];
  const v = r.raw('stop');
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list))
    throw invalid('stop', "'stop' must be a string or an array of strings.", 'invalid_type');
  if (list.length > LIMITS.maxStop)
    throw invalid('stop', `'stop' may hold at most ${LIMITS.maxStop} sequences.`);
  return list.map((s) => {
    const text = checkString('stop', s, { maxLength: LIMITS.maxStopLength });
    if (text.length === 0) throw invalid('stop', "'stop' sequences must not be empty.");
    return text;
  });
}

function readTokenIdList(r: ParamReader, name: string, vocabSize: number): number[] {
  if (!r.has(name)) return [];
  const v = r.raw(name);
  if (!Array.isArray(v)) throw invalid(name, `'${name}' must be an array of token ids.`, 'invalid_type');
  if (v.length > LIMITS.maxStopTokenIds)
    throw invalid(name, `'${name}' may hold at most ${LIMITS.maxStopTokenIds} ids.`);
  return v.map((id) => checkNumber(name, id, { int: true, min: 0, max: vocabSize - 1 }));
}

function readLogitBias(r: ParamReader, vocabSize: number): [number, number][] {
  const obj = r.object('logit_bias');
  if (!obj) return [];
  const entries = Object.entries(obj);
  if (entries.length > LIMITS.maxLogitBias) {
    throw invalid('logit_bias', `'logit_bias' may hold at most ${LIMITS.maxLogitBias} entries.`);
  }
  const seen = new Map<number, string>(); // '7' and '007' name one token: one bias each
  return entries.map(([key, bias]) => {
    if (!/^\d+$/.test(key) || Number(key) >= vocabSize) {
      throw invalid(
        'logit_bias',
        `Invalid key in 'logit_bias': '${key.slice(0, 40)}' is not a token id below ${vocabSize}.`,
      );
    }
    const token = Number(key);
    const earlier = seen.get(token);
    if (earlier !== undefined) {
      throw invalid(
        'logit_bias',
        `'logit_bias' names token ${token} twice ('${earlier}' and '${key.slice(0, 40)}').`,
      );
    }
    seen.set(token, key.slice(0, 40));
    return [token, checkNumber('logit_bias', bias, { min: -100, max: 100 })] as [number, number];
  });
}

function readStreamOptions(r: ParamReader, stream: boolean): boolean {
  const opts = r.object('stream_options');
  if (!opts) return false;
  if (!stream) throw invalid('stream_options', "'stream_options' is only allowed when 'stream' is true.");
  for (const key of Object.keys(opts)) {
    if (key !== 'include_usage') {
      throw invalid(`stream_options.${key}`, `Unrecognized stream option: ${key}`, 'unsupported_parameter');
    }
  }
  const v = opts.include_usage;
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') {
    throw invalid(
      'stream_options.include_usage',
      "'stream_options.include_usage' must be a boolean.",
      'invalid_type',
    );
  }
  return v;
}

/** OpenAI's json_schema block: a name, the schema object, optional strict and description. */
function readJsonSchema(format: Record<string, unknown>): ResponseFormat {
  const at = 'response_format.json_schema';
  const block = format.json_schema;
  if (!isPlainObject(block)) {
    throw invalid(at, `'${at}' must be an object with 'name' and 'schema'.`, 'invalid_type');
  }
  const b = block;
  onlyFields(b, at, ['name', 'schema', 'strict', 'description']);
  if (typeof b.name !== 'string' || !NAME_PATTERN.test(b.name)) {
    throw invalid(`${at}.name`, `'${at}.name' must be 1 to 64 letters, digits, '_' or '-'.`);
  }
  if (!isPlainObject(b.schema)) {
    throw invalid(`${at}.schema`, `'${at}.schema' must be a JSON Schema object.`, 'invalid_type');
  }
  if (b.strict !== undefined && b.strict !== null && typeof b.strict !== 'boolean')
    throw invalid(`${at}.strict`, `'${at}.strict' must be a boolean.`, 'invalid_type');
  if (b.description !== undefined) checkString(`${at}.description`, b.description);
  return { type: 'json_schema', name: b.name, schema: JSON.stringify(b.schema) };
}

/** vLLM's guided_choice: 1..1024 non-empty strings. */
function readGuidedChoice(r: ParamReader): ResponseFormat {
  const v = r.raw('guided_choice');
  if (!Array.isArray(v) || v.length === 0 || v.length > LIMITS.maxChoices) {
    throw invalid(
      'guided_choice',
      `'guided_choice' must be an array of 1 to ${LIMITS.maxChoices} strings.`,
      'invalid_type',
    );
  }
  const choices = v.map((c: unknown) =>
    checkString('guided_choice', c, { maxLength: LIMITS.maxChoiceLength }),
  );
  if (choices.some((c) => c.length === 0))
    throw invalid('guided_choice', "'guided_choice' strings must not be empty.");
  return { type: 'choice', choices };
}

/**
 * response_format: {type: 'text' | 'json_object'} or {type: 'json_schema', json_schema: {...}};
 * or one of vLLM's guided_json (a schema) / guided_choice (strings). At most one of them.
 */
function readResponseFormat(r: ParamReader): ResponseFormat {
  const given = ['response_format', 'guided_json', 'guided_choice'].filter((k) => r.has(k));
  if (given.length > 1) {
    throw invalid(
      given[1],
      `'${given[1]}' cannot be combined with '${given[0]}': give one output constraint.`,
    );
  }
  if (r.has('guided_choice')) return readGuidedChoice(r);
  const guided = r.object('guided_json');
  if (guided) return { type: 'json_schema', name: 'guided_json', schema: JSON.stringify(guided) };
  const format = r.object('response_format');
  if (!format) return { type: 'text' };
  const { type } = format;
  if (type === 'json_schema') {
    onlyFields(format, 'response_format', ['type', 'json_schema']);
    return readJsonSchema(format);
  }
  if (type !== 'text' && type !== 'json_object') {
    throw invalid(
      'response_format.type',
      "'response_format.type' must be 'text', 'json_object' or 'json_schema'.",
      type === undefined ? 'missing_required_parameter' : 'invalid_value',
    );
  }
  onlyFields(format, 'response_format', ['type']);
  return { type };
}

/** Reads the sampling parameters shared by both endpoints (logprobs are endpoint specific). */
export function readSampling(
  r: ParamReader,
  vocabSize: number,
  logprobs: number | null,
  minMaxTokens = 1,
): SamplingRequest {
  const stream = r.bool('stream') ?? false;
  let maxTokens = r.number('max_tokens', { int: true, min: minMaxTokens });
  let maxTokensParam = 'max_tokens';
  if (r.has('max_completion_tokens')) {
    maxTokens = r.number('max_completion_tokens', { int: true, min: 1 });
    maxTokensParam = 'max_completion_tokens';
  }
  const minTokens = r.number('min_tokens', { int: true, min: 0 }) ?? 0;
  if (maxTokens !== undefined && minTokens > maxTokens) {
    throw invalid(
      'min_tokens',
      `'min_tokens' (${minTokens}) must not exceed '${maxTokensParam}' (${maxTokens}).`,
    );
  }
  const user = r.string('user', { maxLength: LIMITS.maxUserLength });
  return {
    maxTokens,
    maxTokensParam,
    temperature: r.number('temperature', { min: 0, max: 2 }),
    topP: r.number('top_p', { min: 0, max: 1 }),
    topK: r.number('top_k', { int: true, min: -1, max: vocabSize }),
    minP: r.number('min_p', { min: 0, max: 1 }),
    n: r.number('n', { int: true, min: 1, max: LIMITS.maxN }) ?? 1,
    stop: readStop(r),
    stopTokenIds: readTokenIdList(r, 'stop_token_ids', vocabSize),
    seed: r.number('seed', { int: true, min: -LIMITS.maxSeed, max: LIMITS.maxSeed }),
    presencePenalty: r.number('presence_penalty', { min: -2, max: 2 }) ?? 0,
    frequencyPenalty: r.number('frequency_penalty', { min: -2, max: 2 }) ?? 0,
    repetitionPenalty: r.number('repetition_penalty', { min: 0.01, max: 10 }),
    logitBias: readLogitBias(r, vocabSize),
    logprobs,
    promptLogprobs: null,
    stream,
    includeUsage: readStreamOptions(r, stream),
    user,
    serviceTier: r.string('service_tier', { values: SERVICE_TIERS }) as ServiceTier | undefined,
    ignoreEos: r.bool('ignore_eos') ?? false,
    minTokens,
    responseFormat: readResponseFormat(r),
  };
}

/**
 * Opens a chat, completions or embeddings body: a JSON object with only known parameters and a
 * 'model'. Returns the reader for the remaining parameters.
 */
export function openGenerationRequest(
  body: unknown,
  allowed: ReadonlySet<string>,
  unsupported: Record<string, string>,
): { r: ParamReader; model: string } {
  const r = new ParamReader(objectBody(body));
  r.onlyKnown(allowed, unsupported);
  if (!r.has('model'))
    throw invalid('model', "Missing required parameter: 'model'.", 'missing_required_parameter');
  return { r, model: r.string('model', { maxLength: 256 }) as string };
}
