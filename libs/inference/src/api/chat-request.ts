import { ChatMessage } from '../text/model-text';
import { checkString, invalid, typeName } from './param-reader';
import {
  COMMON_PARAMS,
  LIMITS,
  openGenerationRequest,
  readSampling,
  SamplingRequest,
} from './sampling-params';

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  sampling: SamplingRequest;
}

const ROLES = ['system', 'developer', 'user', 'assistant'] as const;
const MAX_MESSAGES = 2048;
const MAX_PARTS = 256;

const ALLOWED = new Set([...COMMON_PARAMS, 'messages', 'max_completion_tokens', 'top_logprobs']);
const UNSUPPORTED: Record<string, string> = {
  tools: 'is not supported: this server has no tool calling.',
  tool_choice: 'is not supported: this server has no tool calling.',
  parallel_tool_calls: 'is not supported: this server has no tool calling.',
  functions: 'is not supported: this server has no function calling.',
  function_call: 'is not supported: this server has no function calling.',
  audio: 'is not supported: this model has no audio output.',
  modalities: 'is not supported: this model produces text only.',
  prediction: 'is not supported.',
  reasoning_effort: 'is not supported: this model has no reasoning mode.',
  store: 'is not supported: completions are not stored.',
  metadata: 'is not supported: completions are not stored.',
  web_search_options: 'is not supported.',
  best_of: 'is not supported on chat completions.',
};

function readContent(value: unknown, at: string): string {
  if (typeof value === 'string') return checkString(`${at}.content`, value);
  if (!Array.isArray(value)) {
    throw invalid(
      `${at}.content`,
      `'${at}.content' must be a string or an array of content parts, got ${typeName(value)}.`,
      'invalid_type',
    );
  }
  if (value.length === 0) throw invalid(`${at}.content`, `'${at}.content' must not be an empty array.`);
  if (value.length > MAX_PARTS)
    throw invalid(`${at}.content`, `'${at}.content' has more than ${MAX_PARTS} parts.`);
  return value
    .map((part: unknown, j) => {
      const p = `${at}.content[${j}]`;
      if (!part || typeof part !== 'object' || Array.isArray(part)) {
        throw invalid(p, `'${p}' must be a content part object.`, 'invalid_type');
      }
      const { type, text } = part as { type?: unknown; text?: unknown };
      if (type === 'image_url' || type === 'input_image' || type === 'input_audio' || type === 'file') {
        throw invalid(
          `${p}.type`,
          `Content parts of type '${String(type)}' are not supported: this model accepts text only.`,
          'unsupported_content',
        );
      }
      if (type !== 'text') throw invalid(`${p}.type`, `'${p}.type' must be 'text'.`);
      for (const key of Object.keys(part)) {
        if (key !== 'type' && key !== 'text')
          throw invalid(`${p}.${key}`, `Unrecognized content part field: ${key}`, 'unsupported_parameter');
      }
      return checkString(`${p}.text`, text);
    })
    .join('');
}

function readMessage(m: unknown, i: number): ChatMessage {
  const at = `messages[${i}]`;
  if (!m || typeof m !== 'object' || Array.isArray(m))
    throw invalid(at, `'${at}' must be an object.`, 'invalid_type');
  const msg = m as Record<string, unknown>;
  if (msg.role === undefined)
    throw invalid(`${at}.role`, `Missing required parameter: '${at}.role'.`, 'missing_required_parameter');
  if (typeof msg.role !== 'string' || !(ROLES as readonly string[]).includes(msg.role)) {
    throw invalid(`${at}.role`, `Invalid value for '${at}.role': must be one of ${ROLES.join(', ')}.`);
  }
  for (const key of Object.keys(msg)) {
    if (
      key === 'tool_calls' ||
      key === 'function_call' ||
      key === 'tool_call_id' ||
      key === 'audio' ||
      key === 'refusal'
    ) {
      if (msg[key] === null || msg[key] === undefined) continue;
      throw invalid(
        `${at}.${key}`,
        `'${at}.${key}' is not supported: this server has no tool calling.`,
        'unsupported_parameter',
      );
    }
    if (key !== 'role' && key !== 'content' && key !== 'name') {
      throw invalid(`${at}.${key}`, `Unrecognized message field: ${key}`, 'unsupported_parameter');
    }
  }
  if (msg.content === undefined || msg.content === null) {
    throw invalid(
      `${at}.content`,
      `Missing required parameter: '${at}.content'.`,
      'missing_required_parameter',
    );
  }
  const out: ChatMessage = { role: msg.role as ChatMessage['role'], content: readContent(msg.content, at) };
  if (msg.name !== undefined && msg.name !== null)
    out.name = checkString(`${at}.name`, msg.name, { maxLength: 64 });
  return out;
}

/** Validates a POST /v1/chat/completions body with OpenAI's rules. */
export function parseChatRequest(body: unknown, vocabSize: number): ChatRequest {
  const { r, model } = openGenerationRequest(body, ALLOWED, UNSUPPORTED);
  if (!r.has('messages'))
    throw invalid('messages', "Missing required parameter: 'messages'.", 'missing_required_parameter');
  const raw = r.raw('messages');
  if (!Array.isArray(raw))
    throw invalid('messages', `'messages' must be an array, got ${typeName(raw)}.`, 'invalid_type');
  if (raw.length === 0) throw invalid('messages', "'messages' must contain at least one message.");
  if (raw.length > MAX_MESSAGES)
    throw invalid('messages', `'messages' may hold at most ${MAX_MESSAGES} messages.`);
  const messages = raw.map(readMessage);
  const wantLogprobs = r.bool('logprobs') ?? false;
  const top = r.number('top_logprobs', { int: true, min: 0, max: LIMITS.maxTopLogprobsChat });
  if (top !== undefined && !wantLogprobs) {
    throw invalid('top_logprobs', "'top_logprobs' requires 'logprobs' to be true.");
  }
  const sampling = readSampling(r, vocabSize, wantLogprobs ? (top ?? 0) : null);
  return { model, messages, sampling };
}
