// Evaluates a GGUF model with llama.cpp (node-llama-cpp's prebuilt CPU binary, 1 thread, F32 KV
// cache, no flash attention) and prints JSON: the logits of every prompt position and a greedy
// continuation, and with "embedding": true the last token's output embedding (what the lm_head
// multiplies; llama.cpp's pooling "none"). Run as a child process by oracle.e2e-spec.ts
// (node-llama-cpp is ESM-only).
//
//   node test/oracle/llama-eval.mjs '{"gguf": "...", "tokens": [..], "greedy": 32, "embedding": true}'
import { getCpuLlama, lastTokenEmbedding } from './cpu-llama.mjs';

const req = JSON.parse(process.argv[2]);
const llama = await getCpuLlama();
const model = await llama.loadModel({ modelPath: req.gguf, gpuLayers: 0 });
const contextSize = req.contextSize ?? 256;
const ctxOptions = {
  contextSize,
  batchSize: contextSize,
  threads: 1,
  flashAttention: false,
  experimentalKvCacheKeyType: 'F32',
  experimentalKvCacheValueType: 'F32',
};

const out = { logits: [], greedy: [] };
{
  const context = await model.createContext(ctxOptions);
  const seq = context.getSequence();
  const res = await seq.controlledEvaluate(req.tokens.map((t) => [t, { generateNext: { logits: true } }]));
  for (const r of res) {
    const map = r?.next?.logits;
    if (!map) throw new Error('llama.cpp returned no logits for a position');
    const row = new Array(map.size);
    for (const [tok, logit] of map) row[tok] = logit;
    out.logits.push(row);
  }
  await context.dispose();
}
if (req.greedy > 0) {
  const context = await model.createContext(ctxOptions);
  const seq = context.getSequence();
  for await (const tok of seq.evaluate(req.tokens, { temperature: 0, yieldEogToken: true })) {
    out.greedy.push(tok);
    if (out.greedy.length >= req.greedy) break;
  }
  await context.dispose();
}
if (req.embedding) {
  const context = await model.createContext({ ...ctxOptions, _embeddings: true });
  out.embedding = await lastTokenEmbedding(context, context.getSequence(), req.tokens);
  await context.dispose();
}
await model.dispose();
process.stdout.write(JSON.stringify(out));
