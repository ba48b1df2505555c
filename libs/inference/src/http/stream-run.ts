import { ChoiceDelta, ChoiceResult } from '../generation/choice-runner';
import { InferenceService } from '../generation/inference.service';
import { usageOf } from '../generation/openai-shapes';
import { PreparedRequest } from '../generation/prepared-request';
import { streamErrorBody } from './failures';
import { SseWriter } from './sse';

/**
 * Runs a streamed request (chat or completions) to its end: the engine's deltas go to `emit`; then
 * an error event if the run threw or a choice failed, else the usage chunk (`base` + empty choices)
 * when include_usage asked for it; then the stream is ended.
 */
export async function runStream(
  inference: InferenceService,
  p: PreparedRequest,
  sse: SseWriter,
  base: Record<string, unknown>,
  emit: (d: ChoiceDelta) => void,
): Promise<void> {
  let results: ChoiceResult[];
  try {
    results = await inference.execute(p, emit);
  } catch (err) {
    sse.data(streamErrorBody(err));
    sse.end();
    return;
  }
  const failed = results.find((r) => r.finishReason === 'error');
  if (failed) sse.data(streamErrorBody(failed.apiError ?? new Error(failed.error ?? 'engine error')));
  else if (p.sampling.includeUsage) {
    const { prompt, cached } = inference.promptTotals(p, results);
    sse.data({ ...base, choices: [], usage: usageOf(prompt, cached, results) });
  }
  sse.end();
}
