import { ApiError } from '@app/common';
import { EngineProvider, EngineRequest, FinishReason, TokenLogprob } from '@app/engine';
import { Admission } from '../lanes/lane-scheduler';
import { IncrementalDetokenizer } from '../text/incremental-detokenizer';
import { ModelText } from '../text/model-text';
import { StopMatcher } from '../text/stop-matcher';
import { PiiStreamRedactor } from '../guardrails/pii-stream';

export type OpenAIFinish = 'stop' | 'length';

/** A piece of one choice's output as it is produced. */
export interface ChoiceDelta {
  index: number;
  text: string;
  /** Logprobs of the tokens produced in this step (when asked for). */
  logprobs: TokenLogprob[];
  /** Scores of prompt tokens computed in this step (echo with logprobs); before any output. */
  promptLogprobs?: TokenLogprob[];
  /** Set on the last delta of the choice. */
  finishReason?: OpenAIFinish;
}

export interface ChoiceResult {
  index: number;
  text: string;
  finishReason: OpenAIFinish | 'abort' | 'error';
  error?: string;
  /** The API error a failed choice answers with (e.g. a lane refusal of a later wave). */
  apiError?: ApiError;
  /** The choice never reached the engine: its prompt is not billed. */
  notRun?: boolean;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  /** ms since epoch when the first token arrived; null when none did. */
  firstTokenAt: number | null;
  /** Pieces of personal data replaced in the output (pii_output redact). */
  piiRedacted: number;
  /** promptLogprobs: the scores of the prompt tokens after the first. */
  promptLogprobs: TokenLogprob[];
}

export interface ChoiceSpec {
  index: number;
  requestId: string;
  request: EngineRequest;
  stop: string[];
  /** Null until admitted (requests larger than the engine's capacity are admitted in waves). */
  admission: Admission | null;
  /** The tokens it may cost (prompt + max_tokens): its weight in the lane's fair share. */
  admissionCost: number;
  signal: AbortSignal;
  /** Completion tokens generated so far, shared by the request's choices (its usage marker). */
  usage: { completionTokens: number };
  /** Replace personal data in the output by placeholders (the caller's pii_output policy). */
  redactPii: boolean;
}

/**
 * Runs one choice through the engine: incremental detokenization (no broken UTF-8), stop
 * strings across token boundaries (never emitted; the engine request ends there), personal data
 * redacted when the caller's policy says so (held back until it is known not to be), deltas to
 * `emit`, new tokens also counted into `spec.usage` (the request's usage marker). Always releases
 * the lane admission with the tokens actually used.
 */
export async function runChoice(
  engine: EngineProvider,
  text: ModelText,
  spec: ChoiceSpec,
  emit: (d: ChoiceDelta) => void,
): Promise<ChoiceResult> {
  const detok = new IncrementalDetokenizer((ids) => text.decode(ids));
  const stops = new StopMatcher(spec.stop);
  const redactor = spec.redactPii ? new PiiStreamRedactor() : null;
  // Text leaves through the redactor (if any); `last` also releases what it holds back.
  const visible = (text: string, last: boolean) =>
    redactor ? redactor.push(text) + (last ? redactor.flush() : '') : text;
  const promptTokens = spec.request.promptTokens.length;
  const result: ChoiceResult = {
    index: spec.index,
    text: '',
    finishReason: 'error',
    promptTokens,
    cachedTokens: 0,
    completionTokens: 0,
    firstTokenAt: null,
    piiRedacted: 0,
    promptLogprobs: [],
  };
  const local = new AbortController();
  const onAbort = () => local.abort();
  spec.signal.addEventListener('abort', onAbort, { once: true });
  if (spec.signal.aborted) local.abort();
  try {
    let reason: FinishReason | undefined;
    for await (const ev of engine.generate(spec.request, local.signal)) {
      if (ev.promptLogprobs?.length) {
        // Prompt scores come before the output: their own delta, ahead of this event's text.
        result.promptLogprobs.push(...ev.promptLogprobs);
        emit({ index: spec.index, text: '', logprobs: [], promptLogprobs: ev.promptLogprobs });
      }
      if (ev.newTokens.length > 0) {
        result.firstTokenAt ??= Date.now();
        result.completionTokens += ev.newTokens.length;
        spec.usage.completionTokens += ev.newTokens.length;
      }
      let piece = detok.push(ev.newTokens);
      if (ev.finished) {
        piece += detok.flush();
        if (ev.cachedPromptTokens !== undefined) result.cachedTokens = ev.cachedPromptTokens;
        if (ev.generatedTokens !== undefined) result.completionTokens = ev.generatedTokens;
        reason = ev.reason;
        if (ev.error) result.error = ev.error;
      }
      const out = stops.push(piece);
      if (out.stopped) {
        const text = visible(out.text, true);
        result.text += text;
        result.finishReason = 'stop';
        emit({ index: spec.index, text, logprobs: ev.logprobs ?? [], finishReason: 'stop' });
        local.abort(); // frees the KV blocks now
        return result;
      }
      if (ev.finished) {
        const tail = visible(out.text + stops.flush(), true);
        result.text += tail;
        if (reason === 'stop' || reason === 'length') {
          result.finishReason = reason;
          emit({ index: spec.index, text: tail, logprobs: ev.logprobs ?? [], finishReason: reason });
        } else {
          result.finishReason = reason === 'abort' ? 'abort' : 'error';
        }
        return result;
      }
      const text = visible(out.text, false);
      result.text += text;
      if (text || (ev.logprobs && ev.logprobs.length > 0)) {
        emit({ index: spec.index, text, logprobs: ev.logprobs ?? [] });
      }
    }
    result.finishReason = spec.signal.aborted ? 'abort' : 'error';
    result.error ??= 'the engine stream ended without a finish event';
    return result;
  } catch (err) {
    result.finishReason = spec.signal.aborted ? 'abort' : 'error';
    result.error = err instanceof Error ? err.message : String(err);
    return result;
  } finally {
    result.piiRedacted = redactor?.redactions ?? 0;
    spec.signal.removeEventListener('abort', onAbort);
    spec.admission?.release(promptTokens + result.completionTokens);
  }
}
