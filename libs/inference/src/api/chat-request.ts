import { ChatMessage } from '../text/model-text';
import { checkString, invalid, typeName } from './param-reader';
import { forcedTools, readToolUse, ToolUse } from './tools-request';
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
  /** tools and tool_choice; null without tools. */
  tools: ToolUse | null;
}

const ROLES = ['system', 'developer', 'user', 'assistant', 'tool'] as const;
const MAX_MESSAGES = 2048;
const MAX_PARTS = 256;

const ALLOWED = new Set([
  ...COMMON_PARAMS,
  'messages',
  'max_completion_tokens',
  'top_logprobs',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
]);
const UNSUPPORTED: Record<string, string> = {
  functions: "is not supported: use 'tools'.",
  function_call: "is not supported: use 'tool_choice'.",
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

/** An assistant turn's tool_calls: [{id, type: 'function', function: {name, arguments: JSON text}}]. */
function readToolCalls(v: unknown, at: string): NonNullable<ChatMessage['tool_calls']> {
  if (!Array.isArray(v) || v.length === 0 || v.length > 128)
    throw invalid(at, `'${at}' must be an array of 1 to 128 tool calls.`, 'invalid_type');
  return v.map((c: unknown, j) => {
    const cat = `${at}[${j}]`;
    const call = (c && typeof c === 'object' ? c : {}) as Record<string, unknown>;
    const fn = (call.function && typeof call.function === 'object' ? call.function : {}) as Record<
      string,
      unknown
    >;
    if (call.type !== 'function' || typeof fn.name !== 'string' || typeof fn.arguments !== 'string') {
      throw invalid(
        cat,
        `'${cat}' must be {id, type: 'function', function: {name, arguments}}.`,
        'invalid_type',
      );
    }
    let args: unknown;
    try {
      args = JSON.parse(fn.arguments);
    } catch {
      throw invalid(`${cat}.function.arguments`, `'${cat}.function.arguments' must be JSON text.`);
    }
    return {
      id: checkString(`${cat}.id`, call.id ?? '', { maxLength: 256 }),
      type: 'function' as const,
      function: { name: checkString(`${cat}.function.name`, fn.name, { maxLength: 64 }), arguments: args },
    };
  });
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
  const role = msg.role as ChatMessage['role'];
  const fields = ['role', 'content', 'name'];
  if (role === 'assistant') fields.push('tool_calls', 'refusal');
  if (role === 'tool') fields.push('tool_call_id');
  for (const key of Object.keys(msg)) {
    if (fields.includes(key)) continue;
    if (msg[key] === null || msg[key] === undefined) continue;
    if (key === 'function_call' || key === 'audio' || key === 'tool_calls' || key === 'tool_call_id') {
      throw invalid(
        `${at}.${key}`,
        `'${at}.${key}' is not supported on a ${role} message.`,
        'unsupported_parameter',
      );
    }
    throw invalid(`${at}.${key}`, `Unrecognized message field: ${key}`, 'unsupported_parameter');
  }
  const toolCalls =
    msg.tool_calls === undefined || msg.tool_calls === null
      ? undefined
      : readToolCalls(msg.tool_calls, `${at}.tool_calls`);
  const noContent = msg.content === undefined || msg.content === null;
  if (noContent && !toolCalls) {
    throw invalid(
      `${at}.content`,
      `Missing required parameter: '${at}.content'.`,
      'missing_required_parameter',
    );
  }
  // Templates read content as text: an assistant turn that only calls tools has an empty one.
  const out: ChatMessage = { role, content: noContent ? '' : readContent(msg.content, at) };
  if (msg.name !== undefined && msg.name !== null)
    out.name = checkString(`${at}.name`, msg.name, { maxLength: 64 });
  if (toolCalls) out.tool_calls = toolCalls;
  if (role === 'tool') {
    if (typeof msg.tool_call_id !== 'string')
      throw invalid(
        `${at}.tool_call_id`,
        `'${at}.tool_call_id' is required on a tool message.`,
        'missing_required_parameter',
      );
    out.tool_call_id = checkString(`${at}.tool_call_id`, msg.tool_call_id, { maxLength: 256 });
  }
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
  const tools = readToolUse(r);
  if (tools && forcedTools(tools).length > 0 && sampling.responseFormat.type !== 'text') {
    throw invalid(
      'tool_choice',
      "A forced 'tool_choice' cannot be combined with 'response_format' or guided output.",
    );
  }
  return { model, messages, sampling, tools };
}
