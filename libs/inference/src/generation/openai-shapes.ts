import { TokenLogprob } from '@app/engine';
import { ModelText } from '../text/model-text';
import { ChoiceResult } from './choice-runner';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

export function usageOf(promptTokens: number, cachedTokens: number, results: ChoiceResult[]): Usage {
  const completion = results.reduce((s, r) => s + r.completionTokens, 0);
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completion,
    total_tokens: promptTokens + completion,
    prompt_tokens_details: { cached_tokens: cachedTokens },
  };
}

export interface ChatLogprobEntry {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

/** Chat logprobs content entries (choices[].logprobs.content). */
export function chatLogprobs(text: ModelText, lps: TokenLogprob[], top: number): ChatLogprobEntry[] {
  return lps.map((lp) => {
    const info = text.tokenInfo(lp.token);
    return {
      token: info.token,
      logprob: lp.logprob,
      bytes: info.bytes,
      top_logprobs: lp.top.slice(0, top).map((t) => {
        const ti = text.tokenInfo(t.token);
        return { token: ti.token, logprob: t.logprob, bytes: ti.bytes };
      }),
    };
  });
}

export interface CompletionLogprobs {
  tokens: string[];
  /** null for an echoed prompt's first token (nothing before it to score it by). */
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}

/**
 * Legacy completions logprobs. asTokenIds: tokens as "token_id:<id>" (vLLM's
 * return_tokens_as_token_ids, used by the remote provider to get exact ids back).
 */
export function completionLogprobs(
  text: ModelText,
  lps: TokenLogprob[],
  top: number,
  startOffset: number,
  asTokenIds: boolean,
): CompletionLogprobs {
  const name = (id: number) => (asTokenIds ? `token_id:${id}` : text.tokenInfo(id).token);
  const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  let offset = startOffset;
  for (const lp of lps) {
    const tok = name(lp.token);
    out.tokens.push(tok);
    out.token_logprobs.push(lp.logprob);
    const alts: Record<string, number> = {};
    for (const t of lp.top.slice(0, top)) alts[name(t.token)] = t.logprob;
    out.top_logprobs.push(alts);
    out.text_offset.push(offset);
    offset += asTokenIds ? 0 : text.tokenInfo(lp.token).token.length;
  }
  return out;
}

/**
 * Legacy completions logprobs of an echoed answer: the prompt's first token (unscored: null), the
 * other prompt tokens as the engine scored them (`scores`, one per token, in order), then the
 * generated ones; offsets run on from 0 across all of them.
 */
export function echoCompletionLogprobs(
  text: ModelText,
  prompt: number[],
  scores: TokenLogprob[],
  generated: TokenLogprob[],
  top: number,
  asTokenIds: boolean,
): CompletionLogprobs {
  const first = asTokenIds ? `token_id:${prompt[0]}` : text.tokenInfo(prompt[0]).token;
  return mergeCompletionLogprobs(
    { tokens: [first], token_logprobs: [null], top_logprobs: [null], text_offset: [0] },
    completionLogprobs(text, [...scores, ...generated], top, asTokenIds ? 0 : first.length, asTokenIds),
  );
}

export function mergeCompletionLogprobs(a: CompletionLogprobs, b: CompletionLogprobs): CompletionLogprobs {
  return {
    tokens: a.tokens.concat(b.tokens),
    token_logprobs: a.token_logprobs.concat(b.token_logprobs),
    top_logprobs: a.top_logprobs.concat(b.top_logprobs),
    text_offset: a.text_offset.concat(b.text_offset),
  };
}
