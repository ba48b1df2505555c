import { newFunctionCallId, newMessageId } from './ids';
import { FunctionCallItem, MessageItem, ResponseItem } from './response-items';
import { ResponsesRequest } from './responses-request';

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

export interface ResponsesUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

/** What a run has produced so far (or in the end). */
export interface ResponseState {
  id: string;
  /** Unix seconds. */
  createdAt: number;
  /** The model that served it (an alias's pick); the requested one before admission. */
  model: string;
  serviceTier: string | null;
  status: ResponseStatus;
  output: ResponseItem[];
  usage: ResponsesUsage | null;
  finishReason?: string;
  error?: { code: string; message: string } | null;
}

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens: number };
}

/** A chat completion's usage in the Responses API's terms. */
export function responsesUsage(u: ChatUsage): ResponsesUsage {
  return {
    input_tokens: u.prompt_tokens,
    input_tokens_details: { cached_tokens: u.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: u.completion_tokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: u.total_tokens,
  };
}

/** OpenAI's status for how the answer ended: cut by max_output_tokens or a guardrail is incomplete. */
export function statusOf(finishReason: string | undefined): ResponseStatus {
  return finishReason === 'length' || finishReason === 'content_filter' ? 'incomplete' : 'completed';
}

function incompleteDetails(s: ResponseState) {
  if (s.status !== 'incomplete') return null;
  return { reason: s.finishReason === 'content_filter' ? 'content_filter' : 'max_output_tokens' };
}

/** An assistant message with one output_text part (with its logprobs when they were asked for). */
export function messageItem(
  text: string,
  status: MessageItem['status'],
  logprobs?: unknown[],
  id = newMessageId(),
): MessageItem {
  const part = { type: 'output_text' as const, text, annotations: [] as [] };
  return {
    type: 'message',
    id,
    status,
    role: 'assistant',
    content: [logprobs ? { ...part, logprobs } : part],
  };
}

export function functionCallItem(call: {
  id: string;
  function: { name: string; arguments: string };
}): FunctionCallItem {
  return {
    type: 'function_call',
    id: newFunctionCallId(),
    call_id: call.id,
    name: call.function.name,
    arguments: call.function.arguments,
    status: 'completed',
  };
}

interface ChatAnswer {
  model: string;
  service_tier?: string | null;
  usage: ChatUsage;
  choices: {
    message: {
      content: string | null;
      tool_calls?: { id: string; function: { name: string; arguments: string } }[];
    };
    logprobs: { content: unknown[] } | null;
    finish_reason: string;
  }[];
}

/** The final state of a response from the chat completion it ran as (one choice). */
export function stateFromChat(id: string, createdAt: number, chat: ChatAnswer): ResponseState {
  const choice = chat.choices[0];
  const status = statusOf(choice.finish_reason);
  const calls = choice.message.tool_calls;
  const output: ResponseItem[] = calls?.length
    ? calls.map(functionCallItem)
    : [
        messageItem(
          choice.message.content ?? '',
          status === 'incomplete' ? 'incomplete' : 'completed',
          choice.logprobs?.content,
        ),
      ];
  return {
    id,
    createdAt,
    model: chat.model,
    serviceTier: chat.service_tier ?? null,
    status,
    output,
    usage: responsesUsage(chat.usage),
    finishReason: choice.finish_reason,
  };
}

/** OpenAI's response object. */
export function responseObject(req: ResponsesRequest, s: ResponseState) {
  const e = req.echo;
  return {
    id: s.id,
    object: 'response',
    created_at: s.createdAt,
    status: s.status,
    background: false,
    error: s.error ?? null,
    incomplete_details: incompleteDetails(s),
    instructions: req.instructions,
    max_output_tokens: e.max_output_tokens,
    max_tool_calls: null,
    model: s.model,
    output: s.output,
    parallel_tool_calls: e.parallel_tool_calls,
    previous_response_id: req.previousResponseId,
    reasoning: { effort: null, summary: null },
    service_tier: s.serviceTier,
    store: req.store,
    temperature: e.temperature,
    text: e.text,
    tool_choice: e.tool_choice,
    tools: e.tools,
    top_logprobs: e.top_logprobs,
    top_p: e.top_p,
    truncation: e.truncation,
    usage: s.usage,
    user: e.user,
    metadata: req.metadata,
  };
}

export type ResponseObject = ReturnType<typeof responseObject>;
