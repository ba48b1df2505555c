import { SamplingOptions } from '@app/engine';
import { SamplingRequest } from '../api/sampling-params';
import { GenerationDefaults } from '../text/model-files';

/** OpenAI parameters + generation_config.json defaults → the engine's sampling options. */
export function engineSampling(
  s: SamplingRequest,
  defaults: GenerationDefaults,
  maxTokens: number,
  choiceIndex: number,
): SamplingOptions {
  const topK = s.topK ?? defaults.top_k ?? 0;
  const out: SamplingOptions = {
    temperature: s.temperature ?? defaults.temperature ?? 1,
    topP: s.topP ?? defaults.top_p ?? 1,
    topK: topK < 0 ? 0 : topK,
    minP: s.minP ?? defaults.min_p ?? 0,
    repetitionPenalty: s.repetitionPenalty ?? defaults.repetition_penalty ?? 1,
    presencePenalty: s.presencePenalty,
    frequencyPenalty: s.frequencyPenalty,
    maxTokens,
    minTokens: s.minTokens,
    ignoreEos: s.ignoreEos,
  };
  if (s.logitBias.length > 0) out.logitBias = s.logitBias;
  if (s.stopTokenIds.length > 0) out.stopTokenIds = s.stopTokenIds;
  // n > 1 with a seed: reproducible, yet different choices.
  if (s.seed !== undefined) out.seed = Math.abs(s.seed + choiceIndex) % 2 ** 53;
  if (s.logprobs !== null) out.logprobs = s.logprobs;
  if (s.promptLogprobs !== null) out.promptLogprobs = s.promptLogprobs;
  const format = s.responseFormat;
  if (format.type !== 'text') out.responseFormat = format.type;
  if (format.type === 'json_schema') out.jsonSchema = format.schema;
  if (format.type === 'choice') out.choices = format.choices;
  return out;
}
