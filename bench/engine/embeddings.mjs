#!/usr/bin/env node
// `npm run bench:embeddings`: embeddings (POST /v1/embeddings' engine work) of our CPU engine vs
// llama.cpp on the same random Llama-3.2-1B-shape weights (bf16 both: safetensors for ours, GGUF
// BF16 for llama.cpp), same thread count, alternating engines in each repeat. Ours: every input
// an embed request to one Engine (batched by the scheduler; prefix cache off, so every repeat
// computes every token); llama.cpp: node-llama-cpp's one
// embedding sequence, input after input (its API has no batch). Each measures one input alone
// and all inputs; the first input's vectors are compared (cosine) as a check that both compute
// the same thing. Prints medians and ratios; writes JSON with --output.
//
//   npm run bench:embeddings -- [--inputs 16] [--input-len 64] [--threads 2] [--repeats 3]
//     [--shape llama-3.2-1b] [--output results.json]
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';

import { buildEngineBench, ensureGguf, ensureRandomModel, median, root, sh } from './bench-model.mjs';

const argv = process.argv.slice(2);
const opts = {};
const known = ['--inputs', '--input-len', '--threads', '--repeats', '--shape', '--output'];
for (let i = 0; i < argv.length; i++) {
  if (!known.includes(argv[i]) || i + 1 >= argv.length) {
    console.error(
      `bench:embeddings: unknown option or missing value: ${argv[i]} (see bench/engine/embeddings.mjs)`,
    );
    process.exit(2);
  }
  opts[argv[i].slice(2)] = argv[++i];
}
const int = (name, dflt) => {
  const v = opts[name] === undefined ? dflt : Number(opts[name]);
  if (!Number.isInteger(v) || v <= 0) {
    console.error(`bench:embeddings: --${name} must be a positive integer`);
    process.exit(2);
  }
  return v;
};
const numInputs = int('inputs', 16);
const inputLen = int('input-len', 64);
const threads = int('threads', 2);
const repeats = int('repeats', 3);
const shape = opts.shape ?? 'llama-3.2-1b';

sh('bash', [join(root, 'test/oracle/install.sh')], 'llama.cpp (node-llama-cpp) install');
const modelDir = ensureRandomModel(buildEngineBench(), shape, threads);
const gguf = ensureGguf(modelDir, shape, 'bf16');

let seed = 7;
const rand = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return 259 + (seed % 120000);
};
const inputs = Array.from({ length: numInputs }, () => Array.from({ length: inputLen }, rand));

const addon = createRequire(import.meta.url)(join(root, 'native/build/Release/llm_engine.node'));
let onEvents = () => undefined;
const engine = new addon.Engine(
  {
    modelPath: modelDir,
    device: 'cpu',
    threads,
    maxNumSeqs: numInputs,
    kvCacheBytes: 512 << 20,
    // Every repeat embeds the same inputs: without this the later ones would be prefix-cache hits.
    enablePrefixCaching: false,
  },
  (events) => onEvents(events),
);
let nextId = 0;
function embedOurs(list) {
  return new Promise((resolvePromise, reject) => {
    const vectors = new Array(list.length);
    const ids = new Map(list.map((tokens, i) => [`e${nextId++}`, i]));
    let left = list.length;
    onEvents = (events) => {
      for (const e of events) {
        if (!e.finished || !ids.has(e.id)) continue;
        if (!e.embedding) return reject(new Error(e.error ?? `no embedding (${e.reason})`));
        vectors[ids.get(e.id)] = e.embedding;
        if (--left === 0) resolvePromise(vectors);
      }
    };
    for (const [id, i] of ids) engine.add({ id, promptTokens: list[i], embed: true });
  });
}
async function runOurs() {
  let t0 = performance.now();
  const [first] = await embedOurs([inputs[0]]);
  const oneMs = performance.now() - t0;
  t0 = performance.now();
  await embedOurs(inputs);
  return { one_ms: oneMs, all_ms: performance.now() - t0, first: Array.from(first) };
}
function runPeer() {
  const r = sh(
    process.execPath,
    [join(root, 'bench/engine/llama-embed-peer.mjs'), JSON.stringify({ gguf, threads, inputs })],
    'llama.cpp embeddings',
  );
  return JSON.parse(r.stdout);
}
const cosine = (a, b) => {
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
};

await embedOurs([inputs[0]]); // warm-up (faults the weights in)
const samples = { ours: [], 'llama.cpp': [] };
const started = Date.now();
for (let r = 0; r < repeats; r++) {
  const order = r % 2 === 0 ? ['ours', 'llama.cpp'] : ['llama.cpp', 'ours'];
  for (const e of order) {
    const s = e === 'ours' ? await runOurs() : runPeer();
    samples[e].push(s);
    console.log(
      `repeat ${r + 1}/${repeats} ${e.padEnd(9)} one input ${s.one_ms.toFixed(0)} ms, ${numInputs} inputs ` +
        `${s.all_ms.toFixed(0)} ms (${((numInputs * 1000) / s.all_ms).toFixed(2)} inputs/s)`,
    );
  }
}
engine.close();

const summary = (e) => ({
  one_input_ms: median(samples[e].map((s) => s.one_ms)),
  inputs_per_s: median(samples[e].map((s) => (numInputs * 1000) / s.all_ms)),
  tokens_per_s: median(samples[e].map((s) => (numInputs * inputLen * 1000) / s.all_ms)),
});
const result = {
  machine: { cpu: cpus()[0]?.model, cpus: cpus().length },
  settings: { shape, weights: 'bf16', inputs: numInputs, input_len: inputLen, threads, repeats },
  medians: { ours: summary('ours'), 'llama.cpp': summary('llama.cpp') },
  cosine_first_input: cosine(samples.ours[0].first, samples['llama.cpp'][0].first),
  seconds: (Date.now() - started) / 1000,
};
const m = result.medians;
console.log(
  `\n== embeddings, ${shape} bf16, ${numInputs} inputs of ${inputLen} tokens, ${threads} threads, median of ${repeats} ==`,
);
console.log(`machine: ${result.machine.cpu}, ${result.machine.cpus} CPUs`);
console.log('| metric | ours | llama.cpp | ours/llama.cpp |');
console.log('|---|--:|--:|--:|');
for (const [label, key, lower] of [
  ['one input (ms)', 'one_input_ms', true],
  ['inputs/s', 'inputs_per_s', false],
  ['prompt tokens/s', 'tokens_per_s', false],
]) {
  const ratio = lower ? m['llama.cpp'][key] / m.ours[key] : m.ours[key] / m['llama.cpp'][key];
  console.log(
    `| ${label} | ${m.ours[key].toFixed(1)} | ${m['llama.cpp'][key].toFixed(1)} | ${ratio.toFixed(2)}x |`,
  );
}
console.log(
  `cosine of the first input's vectors (ours vs llama.cpp): ${result.cosine_first_input.toFixed(6)}`,
);
if (opts.output) writeFileSync(resolve(opts.output), JSON.stringify(result, null, 2) + '\n');
