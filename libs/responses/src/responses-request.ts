import { ApiError } from '@app/common';
import {
  invalid,
  isPlainObject,
  objectBody,
  onlyFields,
  ParamReader,
  readMetadata,
  typeName,
} from '@app/inference';
import { readInput, ResponseItem } from './response-items';

/** A validated POST /v1/responses body, with the chat completions request it runs as. */
export interface ResponsesRequest {
  input: ResponseItem[];
  instructions: string | null;
  previousResponseId: string | null;
  store: boolean;
  stream: boolean;
  metadata: Record<string, string>;
  /** The chat completions body, less `messages` (sampling fields are checked by its parser). */
  chat: Record<string, unknown>;
  /** Request fields the response object repeats. */
  echo: ResponseSettings;
}

/** The request's settings as the response object reports them. */
export interface ResponseSettings {
  model: string;
  max_output_tokens: number | null;
  temperature: number;
  top_p: number;
  tools: unknown[];
  tool_choice: unknown;
  parallel_tool_calls: boolean;
  text: { format: Record<string, unknown> };
  /** auto: the oldest items are dropped until the conversation fits the model's context. */
  truncation: 'disabled' | 'auto';
  user: string | null;
  top_logprobs: number;
}

/** Passed to the chat parser as they are (vLLM's extras included). */
const PASSED = [
  'model',
  'temperature',
  'top_p',
  'top_k',
  'min_p',
  'seed',
  'stop',
  'presence_penalty',
  'frequency_penalty',
  'repetition_penalty',
  'user',
  'service_tier',
  'parallel_tool_calls',
];
const OWN = [
  'input',
  'instructions',
  'previous_response_id',
  'store',
  'stream',
  'stream_options',
  'metadata',
  'max_output_tokens',
  'tools',
  'tool_choice',
  'text',
  'truncation',
  'include',
  'reasoning',
  'top_logprobs',
  'prompt_cache_key',
  'safety_identifier',
];
const ALLOWED = new Set([...PASSED, ...OWN]);
const UNSUPPORTED: Record<string, string> = {
  background: 'is not supported: a response runs within its request.',
  conversation: "is not supported: chain responses with 'previous_response_id'.",
  prompt: 'is not supported: send the prompt as input.',
  max_tool_calls: 'is not supported.',
};
const LOGPROBS_INCLUDE = 'message.output_text.logprobs';

/** Responses' flat function tools ({type, name, parameters}) as chat tools ({type, function}). */
function readTools(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v))
    throw invalid('tools', `'tools' must be an array, got ${typeName(v)}.`, 'invalid_type');
  return v.map((t: unknown, i) => {
    const at = `tools[${i}]`;
    if (!isPlainObject(t)) throw invalid(at, `'${at}' must be an object.`, 'invalid_type');
    if (t.type !== 'function')
      throw invalid(
        `${at}.type`,
        `Tools of type '${String(t.type)}' are not supported: only 'function' tools (run by the client).`,
        'unsupported_parameter',
      );
    onlyFields(t, at, ['type', 'name', 'description', 'parameters', 'strict']);
    return t;
  });
}

function chatTool(t: Record<string, unknown>) {
  const { type, ...fn } = t;
  return { type, function: fn };
}

function chatToolChoice(v: unknown): unknown {
  if (v === undefined || typeof v === 'string') return v;
  if (isPlainObject(v) && v.type === 'function' && typeof v.name === 'string')
    return { type: 'function', function: { name: v.name } };
  throw invalid(
    'tool_choice',
    "'tool_choice' must be 'none', 'auto', 'required' or {type: 'function', name}.",
    'invalid_value',
  );
}

/** text.format as the chat request's response_format. */
function readTextFormat(v: unknown): { format: Record<string, unknown>; responseFormat?: unknown } {
  if (v === undefined || v === null) return { format: { type: 'text' } };
  if (!isPlainObject(v)) throw invalid('text', "'text' must be an object.", 'invalid_type');
  onlyFields(v, 'text', ['format', 'verbosity']);
  const f = v.format ?? { type: 'text' };
  if (!isPlainObject(f)) throw invalid('text.format', "'text.format' must be an object.", 'invalid_type');
  if (f.type === 'text' || f.type === 'json_object') return { format: f, responseFormat: { type: f.type } };
  if (f.type !== 'json_schema')
    throw invalid('text.format.type', "'text.format.type' must be 'text', 'json_object' or 'json_schema'.");
  onlyFields(f, 'text.format', ['type', 'name', 'schema', 'strict', 'description']);
  const { type, ...schema } = f;
  return { format: f, responseFormat: { type, json_schema: schema } };
}

/** Validates a POST /v1/responses body with OpenAI's rules (sampling fields: the chat parser's). */
export function parseResponsesRequest(raw: unknown): ResponsesRequest {
  const body = objectBody(raw);
  const r = new ParamReader(body);
  r.onlyKnown(ALLOWED, UNSUPPORTED);
  const model = r.string('model', { maxLength: 256 });
  if (model === undefined)
    throw invalid('model', "Missing required parameter: 'model'.", 'missing_required_parameter');
  const input = readInput(body.input);
  const instructions = r.string('instructions') ?? null;
  const previousResponseId = r.string('previous_response_id', { maxLength: 256 }) ?? null;
  const truncation = (r.string('truncation', { values: ['disabled', 'auto'] }) ?? 'disabled') as
    'disabled' | 'auto';
  if (body.reasoning !== undefined && body.reasoning !== null) {
    const r = body.reasoning as Record<string, unknown>;
    if (!isPlainObject(r) || Object.values(r).some((x) => x !== null && x !== undefined))
      throw invalid(
        'reasoning',
        "'reasoning' is not supported: this model has no reasoning mode.",
        'unsupported_parameter',
      );
  }
  const include = body.include ?? [];
  if (!Array.isArray(include) || include.some((x) => x !== LOGPROBS_INCLUDE))
    throw invalid('include', `'include' may only list '${LOGPROBS_INCLUDE}'.`, 'unsupported_parameter');
  const tools = readTools(body.tools);
  const text = readTextFormat(body.text);
  const stream = r.bool('stream') ?? false;
  const store = r.bool('store') ?? true;
  const topLogprobs = body.top_logprobs ?? 0;
  const logprobs = include.length > 0 || topLogprobs !== 0;

  const chat: Record<string, unknown> = {};
  for (const key of PASSED) if (body[key] !== undefined && body[key] !== null) chat[key] = body[key];
  if (chat.user === undefined && body.safety_identifier !== undefined) chat.user = body.safety_identifier;
  if (body.max_output_tokens !== undefined && body.max_output_tokens !== null)
    chat.max_completion_tokens = body.max_output_tokens;
  if (tools.length > 0) chat.tools = tools.map((t) => chatTool(t as Record<string, unknown>));
  if (body.tool_choice !== undefined && body.tool_choice !== null)
    chat.tool_choice = chatToolChoice(body.tool_choice);
  if (text.responseFormat) chat.response_format = text.responseFormat;
  if (logprobs) {
    chat.logprobs = true;
    chat.top_logprobs = topLogprobs;
  }
  if (stream) {
    chat.stream = true;
    chat.stream_options = { include_usage: true };
  }
  const num = (v: unknown, fallback: number) => (typeof v === 'number' ? v : fallback);
  return {
    input,
    instructions,
    previousResponseId,
    store,
    stream,
    metadata: readMetadata(body.metadata) ?? {},
    chat,
    echo: {
      model,
      max_output_tokens: typeof body.max_output_tokens === 'number' ? body.max_output_tokens : null,
      temperature: num(body.temperature, 1),
      top_p: num(body.top_p, 1),
      tools,
      tool_choice: body.tool_choice ?? 'auto',
      parallel_tool_calls: body.parallel_tool_calls !== false,
      text: { format: text.format },
      truncation,
      user: typeof chat.user === 'string' ? chat.user : null,
      top_logprobs: num(topLogprobs, 0),
    },
  };
}

/** Chat request parameter names as the Responses API calls them. */
const RENAMED: [RegExp, string][] = [
  [/^max_completion_tokens/, 'max_output_tokens'],
  [/^response_format\.json_schema/, 'text.format'],
  [/^response_format/, 'text.format'],
  [/^tools\[(\d+)\]\.function/, 'tools[$1]'],
  [/^messages(\[\d+\])?/, 'input'],
];

/** An error of the chat parser, its parameter named as this request named it. */
export function inResponsesTerms(err: unknown): unknown {
  if (!(err instanceof ApiError)) return err;
  const e = err.body.error;
  if (!e.param) return err;
  const param = RENAMED.reduce((p, [from, to]) => p.replace(from, to), e.param);
  if (param === e.param) return err;
  const message = e.message.split(e.param).join(param);
  return new ApiError(err.getStatus(), message, { type: e.type, code: e.code, param, headers: err.headers });
}
