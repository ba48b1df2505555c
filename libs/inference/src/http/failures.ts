import { ApiError, toOpenAIError } from '@app/common';
import { TokenLogprob } from '@app/engine';
import { ChoiceDelta, ChoiceResult } from '../generation/choice-runner';
import { PreparedRequest } from '../generation/prepared-request';

/** A non-streamed request whose engine run failed or was aborted has no body to give. */
export function failIfNoOutput(results: ChoiceResult[], p: PreparedRequest): void {
  if (p.abort.signal.aborted) throw ApiError.unavailable('The request was aborted.', 'aborted');
  const failed = results.find((r) => r.finishReason === 'error' || r.finishReason === 'abort');
  if (failed?.apiError) throw failed.apiError;
  if (failed) {
    throw new ApiError(
      500,
      `The engine failed to complete the request: ${failed.error ?? failed.finishReason}`,
      {
        code: 'engine_error',
      },
    );
  }
}

/** The error event sent inside an SSE stream that already started. */
export function streamErrorBody(err: unknown): unknown {
  return toOpenAIError(err).body;
}

/** Collects each choice's logprobs from the deltas of a non-streamed run. */
export function collectLogprobs(): { add: (d: ChoiceDelta) => void; of: (index: number) => TokenLogprob[] } {
  const byIndex = new Map<number, TokenLogprob[]>();
  return {
    add: (d) => {
      if (d.logprobs.length === 0) return;
      const list = byIndex.get(d.index) ?? [];
      list.push(...d.logprobs);
      byIndex.set(d.index, list);
    },
    of: (index) => byIndex.get(index) ?? [],
  };
}
