import { PromptInput, readPromptList } from './completion-request';
import { openGenerationRequest, readSampling, SamplingRequest } from './sampling-params';

export interface EmbeddingRequest {
  model: string;
  inputs: PromptInput[];
  encodingFormat: 'float' | 'base64';
  /** Keep the first N dimensions (then normalized again); unset: all. */
  dimensions?: number;
  /** The request path's sampling settings: nothing is generated (max_tokens 0), `user` kept. */
  sampling: SamplingRequest;
}

// service_tier (our extension here, as on chat): which lane the request waits in.
const ALLOWED = new Set(['model', 'input', 'encoding_format', 'dimensions', 'user', 'service_tier']);

/** Validates a POST /v1/embeddings body with OpenAI's rules. */
export function parseEmbeddingRequest(body: unknown, vocabSize: number): EmbeddingRequest {
  const { r, model } = openGenerationRequest(body, ALLOWED, {});
  const inputs = readPromptList(r, 'input', vocabSize, true);
  const encodingFormat = (r.string('encoding_format', { values: ['float', 'base64'] }) ?? 'float') as
    'float' | 'base64';
  const dimensions = r.number('dimensions', { int: true, min: 1 });
  // `user` and `service_tier` as chat reads them; the other sampling fields cannot be in the body
  // (not ALLOWED), so they keep their defaults.
  const sampling: SamplingRequest = { ...readSampling(r, vocabSize, null, 0), maxTokens: 0 };
  return { model, inputs, encodingFormat, ...(dimensions !== undefined ? { dimensions } : {}), sampling };
}
