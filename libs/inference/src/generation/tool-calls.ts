import { ToolUse } from '../api/tools-request';
import { newCompletionId } from './completion-id';
import { parsePythonicCalls } from './pythonic-calls';

/** One call in OpenAI's shape (`message.tool_calls[i]`). */
export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** One call object `{"name": f, "parameters": {...}}` (or `"arguments"`) to one of the tools; else null. */
function readCall(v: unknown, use: ToolUse): ToolCall | null {
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

/** The end (exclusive) of the JSON object starting at `start` ('{'), strings skipped; -1: unclosed. */
function objectEnd(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}

/** Objects one after another, separated by whitespace, ';' or ',' (how Llama 3.x writes several calls). */
function objectSequence(text: string): unknown[] | null {
  const out: unknown[] = [];
  let i = 0;
  for (;;) {
    while (i < text.length && /[\s;,]/.test(text[i])) i++;
    if (i === text.length) return out;
    if (text[i] !== '{') return null;
    const end = objectEnd(text, i);
    if (end < 0) return null;
    try {
      out.push(JSON.parse(text.slice(i, end)));
    } catch {
      return null;
    }
    i = end;
  }
}

/**
 * A choice's text read as tool calls: Llama 3.1's JSON format `{"name": f, "parameters": {...}}`
 * (`arguments` is taken too), or the pythonic list of Llama 3.2's and 4's tool templates
 * `[f(a=1), g(b="x")]`, with f one of the request's tools, and nothing else around it. With
 * parallel_tool_calls (the default) also several calls: a JSON array of them, objects one after
 * another separated by ';', ',' or whitespace, or several in the pythonic list. null: the text is
 * an ordinary answer (so is text with several calls when parallel_tool_calls is false). (Special
 * tokens such as `<|python_tag|>` never reach the text: the detokenizer skips them.)
 */
export function parseToolCalls(text: string, use: ToolUse): ToolCall[] | null {
  if (use.choice === 'none') return null;
  const body = text.trim();
  let values: unknown[] | null = null;
  if (body.startsWith('[')) {
    try {
      const v: unknown = JSON.parse(body);
      if (Array.isArray(v)) values = v;
    } catch {
      values = parsePythonicCalls(body)?.map(({ name, args }) => ({ name, parameters: args })) ?? null;
    }
  } else if (body.startsWith('{')) values = objectSequence(body);
  if (!values || values.length === 0 || (values.length > 1 && !use.parallel)) return null;
  const calls = values.map((v) => readCall(v, use));
  return calls.every((c) => c !== null) ? (calls as ToolCall[]) : null;
}

/**
 * While streaming with tools: could the text so far still become a tool call? (Text that starts
 * with anything but whitespace, '{' or '[' is an answer and can be streamed.)
 */
export function mayBeToolCall(textSoFar: string, use: ToolUse): boolean {
  if (use.choice === 'none') return false;
  const t = textSoFar.trimStart();
  return t === '' || t.startsWith('{') || t.startsWith('[');
}
