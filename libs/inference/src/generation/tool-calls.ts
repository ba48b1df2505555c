import { ToolUse } from '../api/tools-request';
import { newCompletionId } from './completion-id';

/** One call in OpenAI's shape (`message.tool_calls[i]`). */
export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/**
 * A choice's text read as a tool call: Llama 3.1's JSON format `{"name": f, "parameters": {...}}`
 * (`arguments` is taken too), with f one of the request's tools, and nothing else around it.
 * null: the text is an ordinary answer. (Special tokens such as `<|python_tag|>` never reach the
 * text: the detokenizer skips them.)
 */
export function parseToolCall(text: string, use: ToolUse): ToolCall | null {
  if (use.choice === 'none') return null;
  const body = text.trim();
  if (!body.startsWith('{')) return null;
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  const { name, parameters, arguments: args } = v as Record<string, unknown>;
  const params = parameters ?? args;
  if (typeof name !== 'string' || !use.tools.some((t) => t.name === name)) return null;
  if (!params || typeof params !== 'object' || Array.isArray(params)) return null;
  return {
    id: newCompletionId('call'),
    type: 'function',
    function: { name, arguments: JSON.stringify(params) },
  };
}

/**
 * While streaming with tools: could the text so far still become a tool call? (Text that starts
 * with anything but whitespace or '{' is an answer and can be streamed.)
 */
export function mayBeToolCall(textSoFar: string, use: ToolUse): boolean {
  if (use.choice === 'none') return false;
  const t = textSoFar.trimStart();
  return t === '' || t.startsWith('{');
}
