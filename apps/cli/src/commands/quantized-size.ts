import type { TensorInfo } from './models-inspect';

const EMBEDDING = 'model.embed_tokens.weight';

/** Bytes of one [rows, cols] matrix packed by the CPU backend (native/src/backend/cpu/quantize_int*.h). */
const PACKED: Record<'int8' | 'int4', (rows: number, cols: number) => number> = {
  // int8 weights, one f32 scale per row.
  int8: (rows, cols) => rows * cols + rows * 4,
  // Groups of 32 weights: 16 bytes of nibbles and an f16 scale.
  int4: (rows, cols) => rows * Math.ceil(cols / 32) * 18,
};

/**
 * What the CPU backend holds with QUANTIZATION=int8 / int4: every Linear weight and the lm_head
 * packed (a tied lm_head as a packed copy of the embedding), the embedding and the norms as
 * stored (the embedding is memory-mapped and only the rows of the prompt's tokens are read).
 */
export function cpuQuantizedBytes(tensors: Iterable<[string, TensorInfo]>, tiedEmbeddings: boolean) {
  const out = { int8: 0, int4: 0 };
  let hasLmHead = false;
  let embedding: TensorInfo | undefined;
  for (const [name, t] of tensors) {
    if (name === EMBEDDING) embedding = t;
    if (name === 'lm_head.weight') hasLmHead = true;
    const linear = t.shape.length === 2 && name !== EMBEDDING;
    for (const q of ['int8', 'int4'] as const) out[q] += linear ? PACKED[q](t.shape[0], t.shape[1]) : t.bytes;
  }
  if (tiedEmbeddings && !hasLmHead && embedding?.shape.length === 2)
    for (const q of ['int8', 'int4'] as const) out[q] += PACKED[q](embedding.shape[0], embedding.shape[1]);
  return out;
}
