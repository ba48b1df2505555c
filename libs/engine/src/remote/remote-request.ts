import { EngineRequest } from '../engine.types';

/** An engine request as an OpenAI-compatible /v1/completions body (token ids in, token ids back). */
export function completionBody(model: string, req: EngineRequest): Record<string, unknown> {
  const s = req.sampling ?? {};
  const body: Record<string, unknown> = {
    model,
    prompt: Array.from(req.promptTokens),
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: s.maxTokens ?? 16,
    // Every token comes back as "token_id:<id>" in logprobs (vLLM's extension), so ids are exact.
    logprobs: s.logprobs ?? 0,
    return_tokens_as_token_ids: true,
  };
  if (s.temperature !== undefined) body.temperature = s.temperature;
  if (s.topP !== undefined) body.top_p = s.topP;
  if (s.topK !== undefined && s.topK > 0) body.top_k = s.topK;
  if (s.minP !== undefined) body.min_p = s.minP;
  if (s.repetitionPenalty !== undefined) body.repetition_penalty = s.repetitionPenalty;
  if (s.presencePenalty) body.presence_penalty = s.presencePenalty;
  if (s.frequencyPenalty) body.frequency_penalty = s.frequencyPenalty;
  if (s.seed !== undefined) body.seed = s.seed;
  if (s.stopTokenIds?.length) body.stop_token_ids = s.stopTokenIds;
  if (s.minTokens) body.min_tokens = s.minTokens;
  if (s.ignoreEos) body.ignore_eos = true;
  // Our gateways and vLLM both take response_format on /v1/completions.
  if (s.responseFormat === 'json_object') body.response_format = { type: 'json_object' };
  if (s.responseFormat === 'choice' && s.choices) body.guided_choice = s.choices;
  if (s.responseFormat === 'json_schema' && s.jsonSchema) {
    body.response_format = {
      type: 'json_schema',
      json_schema: { name: 'schema', schema: JSON.parse(s.jsonSchema) as unknown },
    };
  }
  // Prompt scores: the upstream echoes the prompt, its tokens' logprobs first in the stream.
  if (s.promptLogprobs !== undefined) {
    body.echo = true;
    body.logprobs = Math.max(s.logprobs ?? 0, s.promptLogprobs);
  }
  if (s.logitBias) {
    const pairs = Array.isArray(s.logitBias)
      ? s.logitBias
      : Object.entries(s.logitBias).map(([k, v]) => [Number(k), v]);
    if (pairs.length) body.logit_bias = Object.fromEntries(pairs.map(([k, v]) => [String(k), v]));
  }
  return body;
}

/** "token_id:123" → 123 (or NaN). */
export function tokenIdOf(name: string): number {
  return name.startsWith('token_id:') ? Number(name.slice(9)) : NaN;
}

/**
 * The request to send after earlier attempts delivered `produced` tokens (and maybe the prompt's
 * scores): the same request, or one that resumes: the tokens appended to the prompt, the
 * remaining max/min tokens, no second prompt scoring. 'done' when no token is left to generate;
 * null when it cannot resume (structured output: the upstream would start a new document).
 */
export function continuationRequest<R extends EngineRequest>(
  req: R,
  produced: readonly number[],
  promptScored: boolean,
): R | 'done' | null {
  if (produced.length === 0 && !promptScored) return req;
  const s = req.sampling ?? {};
  if (produced.length > 0 && s.responseFormat !== undefined && s.responseFormat !== 'text') return null;
  const maxTokens = (s.maxTokens ?? 16) - produced.length;
  if (maxTokens <= 0) return 'done';
  return {
    ...req,
    promptTokens: [...req.promptTokens, ...produced],
    sampling: {
      ...s,
      maxTokens,
      ...(s.minTokens ? { minTokens: Math.max(0, s.minTokens - produced.length) } : {}),
      promptLogprobs: promptScored ? undefined : s.promptLogprobs,
    },
  };
}
