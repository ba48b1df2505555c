import { ApiError, serviceTierForLane } from '@app/common';
import { TokenLogprob } from '@app/engine';
import { collectLogprobs, failIfNoOutput } from '../http/failures';
import { ChoiceResult } from './choice-runner';
import { base64Embedding, normalizedEmbedding } from './embedding-vectors';
import { InferenceService, RequestKind } from './inference.service';
import { chatLogprobs, completionLogprobs, echoCompletionLogprobs, usageOf } from './openai-shapes';
import { PreparedRequest, promptIndexOf } from './prepared-request';
import { parseToolCalls } from './tool-calls';

/**
 * Runs a prepared, non-streamed request and answers OpenAI's response body for its kind: the
 * controllers send it, the batch runner writes it to the output file.
 */
export async function answer(
  inference: InferenceService,
  kind: RequestKind,
  p: PreparedRequest,
): Promise<object> {
  const lps = collectLogprobs();
  const results = await inference.execute(p, kind === 'embedding' ? () => undefined : lps.add);
  failIfNoOutput(results, p);
  const { prompt, cached } = inference.promptTotals(p, results);
  if (kind === 'embedding') return embeddingsBody(p, results, prompt);
  const usage = usageOf(prompt, cached, results);
  const tail = { usage, service_tier: serviceTierForLane(p.lane), system_fingerprint: null };
  if (kind === 'chat') {
    const choices = results.map((r) => chatChoice(p, r, lps.of(r.index)));
    return { id: p.id, object: 'chat.completion', created: p.created, model: p.model, choices, ...tail };
  }
  const choices = results.map((r) => ({
    index: r.index,
    text: (p.echo?.[promptIndexOf(p, r.index)] ?? '') + r.text,
    logprobs: p.sampling.logprobs === null ? null : completionChoiceLogprobs(p, r, lps.of(r.index)),
    finish_reason: r.finishReason,
  }));
  return { id: p.id, object: 'text_completion', created: p.created, model: p.model, choices, ...tail };
}

function chatChoice(p: PreparedRequest, r: ChoiceResult, lps: TokenLogprob[]) {
  const top = p.sampling.logprobs;
  const calls = p.tools && r.finishReason === 'stop' ? parseToolCalls(r.text, p.tools) : null;
  return {
    index: r.index,
    message: calls
      ? { role: 'assistant', content: null, tool_calls: calls, refusal: null }
      : { role: 'assistant', content: r.text, refusal: null },
    logprobs: top === null ? null : { content: chatLogprobs(p.deployment.text, lps, top), refusal: null },
    finish_reason: calls ? 'tool_calls' : r.finishReason,
  };
}

/** Legacy logprobs of a completion choice: its generated tokens, after the prompt's when echoed. */
function completionChoiceLogprobs(p: PreparedRequest, r: ChoiceResult, generated: TokenLogprob[]) {
  const text = p.deployment.text;
  const top = p.sampling.logprobs ?? 0;
  if (!p.echo) return completionLogprobs(text, generated, top, 0, p.tokensAsIds);
  const prompt = p.prompts[promptIndexOf(p, r.index)];
  return echoCompletionLogprobs(text, prompt, r.promptLogprobs, generated, top, p.tokensAsIds);
}

function embeddingsBody(p: PreparedRequest, results: ChoiceResult[], promptTokens: number) {
  if (results.some((r) => !r.embedding))
    throw new ApiError(500, 'The engine returned no embedding.', { code: 'engine_error' });
  const { encodingFormat, dimensions } = p.embedding!;
  return {
    object: 'list',
    data: results.map((r) => {
      const v = normalizedEmbedding(r.embedding!, dimensions);
      return {
        object: 'embedding',
        index: r.index,
        embedding: encodingFormat === 'base64' ? base64Embedding(v) : Array.from(v),
      };
    }),
    model: p.model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}
