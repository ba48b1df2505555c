import { toOpenAIError } from '@app/common';
import { ChatStreamPart, chatLogprobs, PreparedRequest, SseWriter } from '@app/inference';
import {
  functionCallItem,
  messageItem,
  responseObject,
  ResponseState,
  ResponsesUsage,
  statusOf,
} from './response-object';
import { newMessageId } from './ids';
import { MessageItem } from './response-items';
import { ResponsesRequest } from './responses-request';

/**
 * A response's server-sent events in OpenAI's order: response.created and .in_progress; per output
 * item .output_item.added, its content part or arguments, their deltas and .done events,
 * .output_item.done; then response.completed (or .incomplete, .failed). Each event carries its
 * `type` and a `sequence_number`.
 */
export class ResponseStream {
  private seq = 0;
  /** The message item being streamed: its id, place in `output`, text and logprobs so far. */
  private text: { id: string; index: number; value: string; logprobs: unknown[] } | null = null;

  constructor(
    private readonly sse: SseWriter,
    private readonly req: ResponsesRequest,
    private readonly state: ResponseState,
    private readonly p: PreparedRequest,
  ) {}

  start(): void {
    this.send('response.created', { response: this.snapshot() });
    this.send('response.in_progress', { response: this.snapshot() });
  }

  /** One streamed piece of the (single) chat choice: text, or the tool calls it turned out to be. */
  part(part: ChatStreamPart): void {
    if (part.toolCalls) {
      for (const call of part.toolCalls) this.functionCall(functionCallItem(call));
      return;
    }
    const top = this.p.sampling.logprobs;
    const logprobs = top === null ? [] : chatLogprobs(this.p.deployment.text, part.logprobs, top);
    if (!part.content && logprobs.length === 0) return;
    const t = this.openText();
    t.value += part.content ?? '';
    t.logprobs.push(...logprobs);
    this.send('response.output_text.delta', {
      item_id: t.id,
      output_index: t.index,
      content_index: 0,
      delta: part.content ?? '',
      logprobs,
    });
  }

  /** The run ended: closes the text item (an empty one if nothing came), then the response. */
  finish(finishReason: string, usage: ResponsesUsage): ResponseState {
    const status = statusOf(finishReason);
    if (this.state.output.length === 0 || this.text)
      this.closeText(status === 'incomplete' ? 'incomplete' : 'completed');
    Object.assign(this.state, { status, usage, finishReason });
    this.send(status === 'incomplete' ? 'response.incomplete' : 'response.completed', {
      response: this.snapshot(),
    });
    return this.state;
  }

  /** The run failed after the stream started: response.failed with the error. */
  fail(err: unknown): ResponseState {
    const { error } = toOpenAIError(err).body;
    Object.assign(this.state, {
      status: 'failed',
      error: { code: error.code ?? 'server_error', message: error.message },
    });
    this.send('response.failed', { response: this.snapshot() });
    return this.state;
  }

  private functionCall(item: ReturnType<typeof functionCallItem>): void {
    const output_index = this.state.output.length;
    this.state.output.push(item);
    this.send('response.output_item.added', {
      output_index,
      item: { ...item, arguments: '', status: 'in_progress' },
    });
    this.send('response.function_call_arguments.delta', {
      item_id: item.id,
      output_index,
      delta: item.arguments,
    });
    this.send('response.function_call_arguments.done', {
      item_id: item.id,
      output_index,
      name: item.name,
      arguments: item.arguments,
    });
    this.send('response.output_item.done', { output_index, item });
  }

  private openText() {
    if (this.text) return this.text;
    const id = newMessageId();
    const index = this.state.output.length;
    this.text = { id, index, value: '', logprobs: [] };
    this.send('response.output_item.added', {
      output_index: index,
      item: { type: 'message', id, status: 'in_progress', role: 'assistant', content: [] },
    });
    this.send('response.content_part.added', {
      item_id: id,
      output_index: index,
      content_index: 0,
      part: { type: 'output_text', text: '', annotations: [] },
    });
    return this.text;
  }

  private closeText(status: MessageItem['status']): void {
    const t = this.openText();
    const logprobs = this.p.sampling.logprobs === null ? undefined : t.logprobs;
    const item = messageItem(t.value, status, logprobs, t.id);
    this.state.output.splice(t.index, 0, item);
    const ids = { item_id: t.id, output_index: t.index, content_index: 0 };
    this.send('response.output_text.done', { ...ids, text: t.value, logprobs: t.logprobs });
    this.send('response.content_part.done', { ...ids, part: item.content[0] });
    this.send('response.output_item.done', { output_index: t.index, item });
    this.text = null;
  }

  private snapshot() {
    return responseObject(this.req, this.state);
  }

  private send(type: string, fields: Record<string, unknown>): void {
    this.sse.event(type, { type, sequence_number: this.seq++, ...fields });
  }
}
