import { TokenLogprob } from '@app/engine';
import { ToolUse } from '../api/tools-request';
import { ChoiceDelta } from '../generation/choice-runner';
import { mayBeToolCall, parseToolCalls, ToolCall } from '../generation/tool-calls';

/** What a streamed chat choice sends next: content (with its logprobs), tool calls, a finish. */
export interface ChatStreamPart {
  index: number;
  content?: string;
  logprobs: TokenLogprob[];
  toolCalls?: ToolCall[];
  finishReason?: string;
}

/**
 * Streams chat deltas when the request has tools: a choice's text is held back while it may
 * still be tool calls (it starts with '{', or '[' with parallel calls), then sent as one
 * tool_calls delta holding every call (finish_reason 'tool_calls') or, once it is clearly an
 * answer, as content from there on.
 */
export class ToolStreamGate {
  private readonly held = new Map<number, { text: string; logprobs: TokenLogprob[] }>();
  private readonly open = new Set<number>();

  constructor(private readonly use: ToolUse) {}

  push(d: ChoiceDelta): ChatStreamPart[] {
    if (this.open.has(d.index)) {
      return [{ index: d.index, content: d.text, logprobs: d.logprobs, finishReason: d.finishReason }];
    }
    const held = this.held.get(d.index) ?? { text: '', logprobs: [] };
    held.text += d.text;
    held.logprobs.push(...d.logprobs);
    this.held.set(d.index, held);
    if (d.finishReason) {
      this.held.delete(d.index);
      const calls = d.finishReason === 'stop' ? parseToolCalls(held.text, this.use) : null;
      if (calls)
        return [{ index: d.index, logprobs: held.logprobs, toolCalls: calls, finishReason: 'tool_calls' }];
      return [{ index: d.index, content: held.text, logprobs: held.logprobs, finishReason: d.finishReason }];
    }
    if (mayBeToolCall(held.text, this.use)) return [];
    this.held.delete(d.index);
    this.open.add(d.index);
    return [{ index: d.index, content: held.text, logprobs: held.logprobs }];
  }
}

/**
 * The deltas of a streamed chat choice as parts for `send`: through a ToolStreamGate when the
 * request has tools, else each delta's text as it comes (chat and the Responses API stream alike).
 */
export function streamChatParts(
  tools: ToolUse | null | undefined,
  send: (part: ChatStreamPart) => void,
): (d: ChoiceDelta) => void {
  if (!tools)
    return (d) =>
      send({ index: d.index, content: d.text, logprobs: d.logprobs, finishReason: d.finishReason });
  const gate = new ToolStreamGate(tools);
  return (d) => {
    for (const part of gate.push(d)) send(part);
  };
}
