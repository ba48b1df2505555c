import { ApiError } from '@app/common';
import { EngineProvider, EngineRequest, FinishReason, TokenLogprob } from '@app/engine';
import { Admission } from '../lanes/lane-scheduler';
import { IncrementalDetokenizer } from '../text/incremental-detokenizer';
import { ModelText } from '../text/model-text';
import { StopMatcher } from '../text/stop-matcher';
import { GuardrailPolicy } from '../guardrails/guardrail-policy';
import { outputGuardFor } from '../guardrails/output-guard';

/** content_filter: the output reached a blocked term (the caller's guardrails) and was cut there. */
export type OpenAIFinish = 'stop' | 'length' | 'content_filter';

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
  /** An embed request's vector (the engine's, not normalized). */
  embedding?: Float32Array;
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
  /** The caller's guardrails (output: blocked terms end it, pii_output redacts it). */
  guardrails: GuardrailPolicy;
}

/**
 * Runs one choice through the engine: incremental detokenization (no broken UTF-8), stop
 * strings across token boundaries (never emitted; the engine request ends there), the caller's
 * output guardrails (blocked terms end it the same way; personal data redacted), deltas to
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
  const guard = outputGuardFor(spec.guardrails);
  // Text leaves through the output guard (if any); `last` also releases what it holds back.
  const visible = (text: string, last: boolean) =>
    guard ? guard.push(text, last) : { text, blocked: false };
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
        if (ev.embedding) result.embedding = ev.embedding;
      }
      const out = stops.push(piece);
      if (out.stopped) {
        const { text, blocked } = visible(out.text, true);
        result.text += text;
        result.finishReason = blocked ? 'content_filter' : 'stop';
        emit({ index: spec.index, text, logprobs: ev.logprobs ?? [], finishReason: result.finishReason });
        local.abort(); // frees the KV blocks now
        return result;
      }
      if (ev.finished) {
        const tail = visible(out.text + stops.flush(), true);
        result.text += tail.text;
        if (reason === 'stop' || reason === 'length') {
          result.finishReason = tail.blocked ? 'content_filter' : reason;
          emit({
            index: spec.index,
            text: tail.text,
            logprobs: ev.logprobs ?? [],
            finishReason: result.finishReason,
          });
        } else {
          result.finishReason = reason === 'abort' ? 'abort' : 'error';
        }
        return result;
      }
      const { text, blocked } = visible(out.text, false);
      result.text += text;
      if (blocked) {
        result.finishReason = 'content_filter';
        emit({ index: spec.index, text, logprobs: ev.logprobs ?? [], finishReason: 'content_filter' });
        local.abort(); // frees the KV blocks now
        return result;
      }
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
    result.piiRedacted = guard?.piiRedacted ?? 0;
    spec.signal.removeEventListener('abort', onAbort);
    spec.admission?.release(promptTokens + result.completionTokens);
  }
}
