import { PromptInput, readPromptList } from './completion-request';
import { invalid, objectBody, ParamReader } from './param-reader';
import { LIMITS, readSampling, SamplingRequest, SERVICE_TIERS, ServiceTier } from './sampling-params';

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
  const r = new ParamReader(objectBody(body));
  r.onlyKnown(ALLOWED, {});
  if (!r.has('model'))
    throw invalid('model', "Missing required parameter: 'model'.", 'missing_required_parameter');
  const model = r.string('model', { maxLength: 256 }) as string;
  const inputs = readPromptList(r, 'input', vocabSize, true);
  const encodingFormat = (r.string('encoding_format', { values: ['float', 'base64'] }) ?? 'float') as
    'float' | 'base64';
  const dimensions = r.number('dimensions', { int: true, min: 1 });
  const user = r.string('user', { maxLength: LIMITS.maxUserLength });
  const serviceTier = r.string('service_tier', { values: SERVICE_TIERS }) as ServiceTier | undefined;
  const sampling: SamplingRequest = {
    ...readSampling(new ParamReader({}), vocabSize, null, 0),
    maxTokens: 0,
    user,
    serviceTier,
  };
  return { model, inputs, encodingFormat, ...(dimensions !== undefined ? { dimensions } : {}), sampling };
}
