/**
 * An engine vector as OpenAI returns embeddings: the first `dimensions` values (all when unset),
 * scaled to unit length (cosine similarity is then a dot product).
 */
export function normalizedEmbedding(raw: Float32Array, dimensions?: number): Float32Array {
  const v = Float32Array.from(dimensions === undefined ? raw : raw.subarray(0, dimensions));
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] /= norm;
  return v;
}

/** encoding_format 'base64': the float32 values' little-endian bytes (what OpenAI's clients decode). */
export function base64Embedding(v: Float32Array): string {
  const bytes = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) bytes.writeFloatLE(v[i], i * 4);
  return bytes.toString('base64');
}
