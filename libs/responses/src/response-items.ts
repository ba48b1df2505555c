import { checkString, invalid, isPlainObject, onlyFields, typeName } from '@app/inference';
import { newFunctionCallId, newFunctionCallOutputId, newMessageId } from './ids';

export type MessageRole = 'user' | 'system' | 'developer' | 'assistant';
export type ContentPart =
  | { type: 'input_text'; text: string }
  /** logprobs: when the request asked for them (include message.output_text.logprobs). */
  | { type: 'output_text'; text: string; annotations: []; logprobs?: unknown[] };

export interface MessageItem {
  type: 'message';
  id: string;
  role: MessageRole;
  status: 'completed' | 'incomplete';
  content: ContentPart[];
}
export interface FunctionCallItem {
  type: 'function_call';
  id: string;
  call_id: string;
  name: string;
  /** JSON text, as the model wrote it. */
  arguments: string;
  status: 'completed';
}
export interface FunctionCallOutputItem {
  type: 'function_call_output';
  id: string;
  call_id: string;
  output: string;
  status: 'completed';
}
/** A conversation item as stored and listed (input_items) and as `output` holds it. */
export type ResponseItem = MessageItem | FunctionCallItem | FunctionCallOutputItem;

const ROLES: readonly MessageRole[] = ['user', 'system', 'developer', 'assistant'];
const MAX_ITEMS = 2048;
const MAX_PARTS = 256;
const UNSUPPORTED_PARTS = new Set(['input_image', 'input_file', 'input_audio']);

function readParts(value: unknown, at: string, role: MessageRole): ContentPart[] {
  if (typeof value === 'string') return [textPart(role, checkString(at, value))];
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_PARTS)
    throw invalid(
      at,
      `'${at}' must be a string or an array of 1 to ${MAX_PARTS} content parts.`,
      'invalid_type',
    );
  return value.map((part: unknown, j) => {
    const p = `${at}[${j}]`;
    if (!isPlainObject(part)) throw invalid(p, `'${p}' must be a content part object.`, 'invalid_type');
    if (typeof part.type === 'string' && UNSUPPORTED_PARTS.has(part.type))
      throw invalid(
        `${p}.type`,
        `Content parts of type '${part.type}' are not supported: this model accepts text only.`,
        'unsupported_content',
      );
    if (part.type !== 'input_text' && part.type !== 'output_text')
      throw invalid(`${p}.type`, `'${p}.type' must be 'input_text' or 'output_text'.`);
    onlyFields(part, p, ['type', 'text', 'annotations', 'logprobs']);
    return textPart(role, checkString(`${p}.text`, part.text));
  });
}

/** Assistant turns hold output_text parts, the others input_text (as OpenAI lists them). */
function textPart(role: MessageRole, text: string): ContentPart {
  return role === 'assistant' ? { type: 'output_text', text, annotations: [] } : { type: 'input_text', text };
}

function readItem(raw: unknown, i: number): ResponseItem {
  const at = `input[${i}]`;
  if (!isPlainObject(raw)) throw invalid(at, `'${at}' must be an object.`, 'invalid_type');
  const type = raw.type ?? (raw.role !== undefined ? 'message' : undefined);
  const id = (fresh: () => string) =>
    raw.id === undefined || raw.id === null ? fresh() : checkString(`${at}.id`, raw.id, { maxLength: 256 });
  if (type === 'message') {
    onlyFields(raw, at, ['type', 'id', 'role', 'content', 'status']);
    const role = checkString(`${at}.role`, raw.role, { values: ROLES }) as MessageRole;
    if (raw.content === undefined)
      throw invalid(
        `${at}.content`,
        `Missing required parameter: '${at}.content'.`,
        'missing_required_parameter',
      );
    const content = readParts(raw.content, `${at}.content`, role);
    return { type: 'message', id: id(newMessageId), role, status: 'completed', content };
  }
  if (type === 'function_call') {
    onlyFields(raw, at, ['type', 'id', 'call_id', 'name', 'arguments', 'status']);
    const args = checkString(`${at}.arguments`, raw.arguments);
    try {
      JSON.parse(args);
    } catch {
      throw invalid(`${at}.arguments`, `'${at}.arguments' must be JSON text.`);
    }
    return {
      type: 'function_call',
      id: id(newFunctionCallId),
      call_id: checkString(`${at}.call_id`, raw.call_id, { maxLength: 256, nonEmpty: true }),
      name: checkString(`${at}.name`, raw.name, { maxLength: 64, nonEmpty: true }),
      arguments: args,
      status: 'completed',
    };
  }
  if (type === 'function_call_output') {
    onlyFields(raw, at, ['type', 'id', 'call_id', 'output', 'status']);
    const output =
      typeof raw.output === 'string'
        ? checkString(`${at}.output`, raw.output)
        : readParts(raw.output, `${at}.output`, 'user')
            .map((p) => p.text)
            .join('');
    return {
      type: 'function_call_output',
      id: id(newFunctionCallOutputId),
      call_id: checkString(`${at}.call_id`, raw.call_id, { maxLength: 256, nonEmpty: true }),
      output,
      status: 'completed',
    };
  }
  throw invalid(
    `${at}.type`,
    `Input items of type '${String(type)}' are not supported: use 'message', 'function_call' or 'function_call_output'.`,
    type === undefined ? 'missing_required_parameter' : 'unsupported_parameter',
  );
}

/** The request's `input`: a string (one user message) or a list of items. */
export function readInput(value: unknown): ResponseItem[] {
  if (value === undefined)
    throw invalid('input', "Missing required parameter: 'input'.", 'missing_required_parameter');
  if (typeof value === 'string') return [readItem({ role: 'user', content: value }, 0)];
  if (!Array.isArray(value))
    throw invalid(
      'input',
      `'input' must be a string or an array of items, got ${typeName(value)}.`,
      'invalid_type',
    );
  if (value.length === 0) throw invalid('input', "'input' must contain at least one item.");
  if (value.length > MAX_ITEMS) throw invalid('input', `'input' may hold at most ${MAX_ITEMS} items.`);
  return value.map(readItem);
}

const textOf = (item: MessageItem) => item.content.map((p) => p.text).join('');

/** A chat completions request message (the wire form: tool call arguments as JSON text). */
export interface WireMessage {
  role: 'system' | 'user' | 'assistant' | 'developer' | 'tool';
  content: string;
  tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
}

/**
 * The chat messages of a conversation: `instructions` as the system message, then the items in
 * order; consecutive function calls become one assistant turn with tool_calls, their outputs tool turns.
 */
export function chatMessages(instructions: string | null, items: ResponseItem[]): WireMessage[] {
  const out: WireMessage[] = instructions === null ? [] : [{ role: 'system', content: instructions }];
  for (const item of items) {
    if (item.type === 'message') out.push({ role: item.role, content: textOf(item) });
    else if (item.type === 'function_call_output')
      out.push({ role: 'tool', content: item.output, tool_call_id: item.call_id });
    else {
      const call = {
        id: item.call_id,
        type: 'function' as const,
        function: { name: item.name, arguments: item.arguments },
      };
      const last = out[out.length - 1];
      if (last?.role === 'assistant' && last.tool_calls) last.tool_calls.push(call);
      else out.push({ role: 'assistant', content: '', tool_calls: [call] });
    }
  }
  return out;
}
