// The llama.cpp side of `npm run bench:embeddings`: loads one GGUF with node-llama-cpp's prebuilt
// CPU binary and embeds each input in turn, as node-llama-cpp's LlamaEmbeddingContext does (one
// sequence; its API has no batch of inputs), without its BOS/EOS insertion: the tokens as given.
// The vector is llama.cpp's output embedding of the last token (pooling "none"). Prints JSON:
// the time of one input alone, of all inputs, and the first input's vector.
//
//   node bench/engine/llama-embed-peer.mjs '{"gguf": "...", "threads": 2, "inputs": [[..], ..]}'
import { getCpuLlama, lastTokenEmbedding } from '../../test/oracle/cpu-llama.mjs';

const req = JSON.parse(process.argv[2]);
const longest = Math.max(...req.inputs.map((t) => t.length));
const llama = await getCpuLlama();
const model = await llama.loadModel({ modelPath: req.gguf, gpuLayers: 0 });
const context = await model.createContext({
  contextSize: longest + 16,
  batchSize: longest,
  threads: req.threads ?? 2,
  _embeddings: true,
});
const seq = context.getSequence();
const embed = (tokens) => lastTokenEmbedding(context, seq, tokens);
await embed(req.inputs[0]); // warm-up (faults the weights in)
let t0 = performance.now();
const first = await embed(req.inputs[0]);
const oneMs = performance.now() - t0;
t0 = performance.now();
for (const tokens of req.inputs) await embed(tokens);
const allMs = performance.now() - t0;
await context.dispose();
await model.dispose();
process.stdout.write(JSON.stringify({ one_ms: oneMs, all_ms: allMs, first }));
