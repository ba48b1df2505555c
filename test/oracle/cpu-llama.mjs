// node-llama-cpp's prebuilt CPU binary (installed by test/oracle/install.sh): no GPU layers, never
// builds or downloads. Shared by test/oracle/llama-eval.mjs and bench/engine/llama-peer.mjs.
import { getLlama } from 'node-llama-cpp';

export function getCpuLlama() {
  return getLlama({
    gpu: false,
    build: 'never',
    usePrebuiltBinaries: true,
    skipDownload: true,
    logLevel: 'error',
  });
}

/**
 * llama.cpp's output embedding of the last of `tokens` (pooling "none": the final-normed hidden
 * state the lm_head multiplies), as LlamaEmbeddingContext.getEmbeddingFor computes it but without
 * its BOS/EOS insertion: the tokens as given. `context` was created with `_embeddings: true`
 * (node-llama-cpp internals, of the version test/oracle/install.sh pins); `sequence` is its own.
 */
export async function lastTokenEmbedding(context, sequence, tokens) {
  await sequence.eraseContextTokenRanges([{ start: 0, end: sequence.nextTokenIndex }]);
  for await (const _ of sequence.evaluate(tokens, { _noSampling: true })) break;
  return Array.from(context._ctx.getEmbedding(tokens.length));
}
