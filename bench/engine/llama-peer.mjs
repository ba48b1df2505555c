// The llama.cpp side of `npm run bench:engine`: loads one GGUF with node-llama-cpp's prebuilt CPU
// binary (installed by test/oracle/install.sh) and measures what engine-bench measures for our
// engine: one 128-token prompt, decode steps of 1 and of B sequences batched in one context
// (node-llama-cpp puts the pending tokens of all sequences into one llama_decode), peak RSS.
// Prints one JSON object on stdout. Run as a child process (node-llama-cpp is ESM-only).
//
//   node bench/engine/llama-peer.mjs '{"gguf": "...", "threads": 2, "promptLen": 128,
//     "decodeContext": 32, "decodeSteps": 8, "batchSizes": [1, 4, 8, 16]}'
import { getCpuLlama } from '../../test/oracle/cpu-llama.mjs';

const req = JSON.parse(process.argv[2]);
const threads = req.threads ?? 2;
const promptLen = req.promptLen ?? 128;
const dctx = req.decodeContext ?? 32;
const steps = req.decodeSteps ?? 8;
const vocab = req.vocab ?? 120000;

let seed = 12345;
const rand = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return 259 + (seed % (vocab - 259));
};
const tokens = (n) => Array.from({ length: n }, rand);
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const now = () => performance.now();
const lastWithToken = (toks) =>
  toks.map((t, i) => (i === toks.length - 1 ? [t, { generateNext: { token: true } }] : t));

const llama = await getCpuLlama();
const model = await llama.loadModel({ modelPath: req.gguf, gpuLayers: 0 });
const out = { threads, prompt_len: promptLen, decode_context: dctx, decode: [] };

{
  const ctx = await model.createContext({
    contextSize: promptLen + 64,
    batchSize: promptLen,
    threads,
    sequences: 1,
  });
  const seq = ctx.getSequence();
  await seq.controlledEvaluate(lastWithToken(tokens(32))); // warm-up (faults the weights in)
  await seq.clearHistory();
  const t0 = now();
  await seq.controlledEvaluate(lastWithToken(tokens(promptLen)));
  out.prompt_tok_s = promptLen / ((now() - t0) / 1000);
  await ctx.dispose();
}

for (const B of req.batchSizes ?? [1, 4, 8, 16]) {
  const ctx = await model.createContext({
    contextSize: dctx + steps + 32,
    batchSize: Math.max(512, B),
    threads,
    sequences: B,
  });
  const seqs = Array.from({ length: B }, () => ctx.getSequence());
  await Promise.all(seqs.map((s) => s.controlledEvaluate(lastWithToken(tokens(dctx)))));
  const times = [];
  for (let i = 0; i < steps; i++) {
    const t0 = now();
    await Promise.all(seqs.map((s) => s.controlledEvaluate([[rand(), { generateNext: { token: true } }]])));
    if (i >= 2) times.push(now() - t0);
  }
  const stepMs = median(times);
  out.decode.push({
    batch: B,
    context: dctx + Math.floor(steps / 2),
    step_ms: stepMs,
    tok_s: B / (stepMs / 1000),
  });
  process.stderr.write(`  llama.cpp decode batch ${B}: ${stepMs.toFixed(1)} ms/step\n`);
  await ctx.dispose();
}
out.peak_memory_bytes = process.resourceUsage().maxRSS * 1024;
await model.dispose();
process.stdout.write(JSON.stringify(out));
