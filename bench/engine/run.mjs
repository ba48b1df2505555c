#!/usr/bin/env node
// `npm run bench:engine`: our CPU engine vs llama.cpp on the same random Llama-3.2-1B-shape
// weights, same thread count, alternating engines in each repeat. Generates the model once under
// .data/bench/ (engine-bench --random-model, bf16 safetensors) and the same weights as GGUF BF16
// and F16 (bench/engine/gguf16.mjs), Q8_0 (gguf-q8.mjs) or Q4_0 (gguf-q4.mjs). Prints medians over
// repeats and ours/llama.cpp ratios, and writes JSON.
//
//   npm run bench:engine -- [--batch-sizes 1,4,8,16] [--threads 2] [--repeats 3] [--output results.json]
//     [--prompt-len 128] [--decode-context 32] [--decode-steps 8] [--peers bf16,f16]  (bf16,f16,q8_0,q4_0)
//     [--quantization none|int8|int8-bf16|int4]  (ours: engine-bench --quantization)
//     [--num-prompts N]  (N > 0: also N requests through our real Engine once; ours only)
//     [--shape llama-3.2-1b] [--engine-bench PATH]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';

import {
  buildEngineBench,
  dataDir,
  ensureGguf,
  ensureRandomModel,
  median,
  root,
  sh,
} from './bench-model.mjs';

const argv = process.argv.slice(2);
const known = new Set([
  '--batch-sizes',
  '--threads',
  '--repeats',
  '--output',
  '--prompt-len',
  '--decode-context',
  '--decode-steps',
  '--peers',
  '--num-prompts',
  '--shape',
  '--engine-bench',
  '--quantization',
]);
const opts = {};
for (let i = 0; i < argv.length; i++) {
  if (!known.has(argv[i]) || i + 1 >= argv.length) {
    console.error(
      `bench:engine: unknown option or missing value: ${argv[i]} (see the header of bench/engine/run.mjs)`,
    );
    process.exit(2);
  }
  opts[argv[i].slice(2)] = argv[++i];
}
const int = (name, dflt) => {
  const v = opts[name] === undefined ? dflt : Number(opts[name]);
  if (!Number.isInteger(v) || v < 0) {
    console.error(`bench:engine: --${name} must be a non-negative integer`);
    process.exit(2);
  }
  return v;
};
const batchSizes = (opts['batch-sizes'] ?? '1,4,8,16').split(',').map(Number);
if (batchSizes.some((b) => !Number.isInteger(b) || b <= 0)) {
  console.error('bench:engine: --batch-sizes must be positive integers, e.g. 1,4,8,16');
  process.exit(2);
}
const threads = int('threads', 2) || 2;
const repeats = int('repeats', 3) || 1;
const promptLen = int('prompt-len', 128);
const decodeContext = int('decode-context', 32);
const decodeSteps = Math.max(3, int('decode-steps', 8));
const numPrompts = int('num-prompts', 0);
const peers = (opts.peers ?? 'bf16,f16').split(',').filter(Boolean);
const peerKinds = ['bf16', 'f16', 'q8_0', 'q4_0'];
if (peers.some((p) => !peerKinds.includes(p))) {
  console.error(`bench:engine: --peers takes some of ${peerKinds.join(',')}`);
  process.exit(2);
}
const quantization = opts.quantization ?? 'none';
if (!['none', 'int8', 'int8-bf16', 'int4'].includes(quantization)) {
  console.error('bench:engine: --quantization takes none, int8, int8-bf16 or int4');
  process.exit(2);
}
// Our engine's weights: what engine-bench gets besides --model (every measured run of ours).
const oursWeights = quantization === 'none' ? 'bf16' : quantization;
const quantArgs = quantization === 'none' ? [] : ['--quantization', quantization];
const shape = opts.shape ?? 'llama-3.2-1b';
const output = opts.output ? resolve(opts.output) : null;

// 1. Tools and data. engine-bench is built (incrementally: a no-op when up to date) in its own
// CPU-only tree, so that the measured engine is the working tree's.
const benchBin = opts['engine-bench'] ? resolve(opts['engine-bench']) : buildEngineBench();
if (!existsSync(benchBin)) {
  console.error(`bench:engine: ${benchBin} does not exist`);
  process.exit(2);
}
if (quantArgs.length && !sh(benchBin, ['--help'], 'engine-bench --help').stdout.includes('--quantization')) {
  console.error(`bench:engine: ${benchBin} has no --quantization option`);
  process.exit(2);
}
if (peers.length) sh('bash', [join(root, 'test/oracle/install.sh')], 'llama.cpp (node-llama-cpp) install');

const modelDir = ensureRandomModel(benchBin, shape, threads);
const ggufs = Object.fromEntries(peers.map((p) => [p, ensureGguf(modelDir, shape, p)]));

// 2. Alternating runs.
function runOurs() {
  const tmp = join(dataDir, `ours-${process.pid}.json`);
  sh(
    benchBin,
    [
      '--model',
      modelDir,
      ...quantArgs,
      '--device',
      'cpu',
      '--threads',
      String(threads),
      '--prompt-len',
      String(promptLen),
      '--decode-context',
      String(decodeContext),
      '--decode-steps',
      String(decodeSteps),
      '--repeats',
      '1',
      '--ttft-len',
      '0',
      '--num-prompts',
      '0',
      '--batch-sizes',
      batchSizes.join(','),
      '--output',
      tmp,
    ],
    'engine-bench',
  );
  const j = JSON.parse(readFileSync(tmp, 'utf8'));
  return { prompt_tok_s: j.prompt_tok_s, decode: j.decode, peak_memory_bytes: j.peak_memory_bytes };
}
function runPeer(kind) {
  const req = { gguf: ggufs[kind], threads, promptLen, decodeContext, decodeSteps, batchSizes };
  const r = sh(
    process.execPath,
    [join(root, 'bench/engine/llama-peer.mjs'), JSON.stringify(req)],
    `llama.cpp ${kind}`,
  );
  return JSON.parse(r.stdout);
}

const engines = ['ours', ...peers.map((p) => `llama.cpp-${p}`)];
const samples = Object.fromEntries(engines.map((e) => [e, []]));
const started = Date.now();
for (let r = 0; r < repeats; r++) {
  // Alternate the order between repeats so that neither engine always runs first.
  const order = r % 2 === 0 ? engines : [...engines].reverse();
  for (const e of order) {
    const t0 = Date.now();
    const s = e === 'ours' ? runOurs() : runPeer(e.slice('llama.cpp-'.length));
    samples[e].push(s);
    const d = s.decode.map((p) => `${p.batch}:${p.tok_s.toFixed(1)}`).join(' ');
    console.log(
      `repeat ${r + 1}/${repeats} ${e.padEnd(15)} prompt ${s.prompt_tok_s.toFixed(1)} tok/s, decode ${d} tok/s ` +
        `(${((Date.now() - t0) / 1000).toFixed(0)} s)`,
    );
  }
}

let offline = null;
if (numPrompts > 0) {
  const tmp = join(dataDir, `offline-${process.pid}.json`);
  sh(
    benchBin,
    [
      '--model',
      modelDir,
      ...quantArgs,
      '--device',
      'cpu',
      '--threads',
      String(threads),
      '--batch-sizes',
      '1',
      '--decode-steps',
      '3',
      '--repeats',
      '1',
      '--ttft-len',
      '0',
      '--num-prompts',
      String(numPrompts),
      '--input-len',
      String(promptLen),
      '--output-len',
      '16',
      '--max-num-seqs',
      '16',
      '--output',
      tmp,
    ],
    'engine-bench offline',
  );
  offline = JSON.parse(readFileSync(tmp, 'utf8')).offline;
}

// 3. Medians, ratios, table, JSON.
const metrics = [{ key: 'prompt', label: `prompt ${promptLen} tok (tok/s)`, get: (s) => s.prompt_tok_s }];
for (const B of batchSizes)
  metrics.push({
    key: `decode_${B}`,
    label: B === 1 ? 'decode 1 seq (tok/s)' : `decode ${B} seqs aggregate (tok/s)`,
    get: (s) => s.decode.find((p) => p.batch === B).tok_s,
  });
metrics.push({
  key: 'peak_rss_gb',
  label: 'peak RSS (GB)',
  get: (s) => s.peak_memory_bytes / 1e9,
  lowerIsBetter: true,
});

const result = {
  machine: { cpu: cpus()[0]?.model, cpus: cpus().length, memory_gb: +(totalmem() / 1e9).toFixed(1) },
  settings: {
    shape,
    quantization,
    ours_weights: oursWeights,
    peers: peers.map((p) => `llama.cpp-${p}`),
    threads,
    repeats,
    prompt_len: promptLen,
    decode_context: decodeContext,
    decode_steps: decodeSteps,
    batch_sizes: batchSizes,
  },
  medians: {},
  ratios: {},
  samples,
  offline,
  seconds: (Date.now() - started) / 1000,
};
// Best of the repeats too: on a shared machine the best sample is the closest to the unloaded speed.
const best = (m, v) => (m.lowerIsBetter ? Math.min(...v) : Math.max(...v));
result.best = {};
result.best_ratios = {};
for (const e of engines) {
  result.medians[e] = Object.fromEntries(metrics.map((m) => [m.key, median(samples[e].map(m.get))]));
  result.best[e] = Object.fromEntries(metrics.map((m) => [m.key, best(m, samples[e].map(m.get))]));
}
const ratiosOf = (src, p) =>
  Object.fromEntries(metrics.map((m) => [m.key, src.ours[m.key] / src[`llama.cpp-${p}`][m.key]]));
for (const p of peers) {
  result.ratios[`ours/llama.cpp-${p}`] = ratiosOf(result.medians, p);
  result.best_ratios[`ours/llama.cpp-${p}`] = ratiosOf(result.best, p);
}

const cols = ['metric', ...engines, ...peers.map((p) => `ours/${p}`)];
function printTable(title, values, ratios) {
  const rows = metrics.map((m) => [
    m.label,
    ...engines.map((e) => values[e][m.key].toFixed(m.key === 'peak_rss_gb' ? 2 : 1)),
    ...peers.map((p) => `${ratios[`ours/llama.cpp-${p}`][m.key].toFixed(2)}x`),
  ]);
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
  const line = (r) => '| ' + r.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  console.log(title);
  console.log(line(cols));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(r));
}
console.log(
  `\n== CPU engine vs llama.cpp: ${shape}, ours ${oursWeights} weights (--quantization ${quantization}) vs ` +
    `llama.cpp ${peers.join(', ')}; ${threads} threads, ${repeats} repeats ==`,
);
console.log(
  `machine: ${result.machine.cpu}, ${result.machine.cpus} CPUs; decode context ${decodeContext}+ tokens, ${decodeSteps} steps`,
);
printTable(`median of ${repeats}:`, result.medians, result.ratios);
if (repeats > 1) printTable(`best of ${repeats}:`, result.best, result.best_ratios);
if (offline)
  console.log(
    `ours, ${numPrompts} requests through the Engine: ${offline.output_tok_s.toFixed(1)} output tok/s, ` +
      `${offline.total_tok_s.toFixed(1)} total tok/s, ${offline.errors} errors`,
  );
console.log(`(${result.seconds.toFixed(0)} s)`);
if (output) {
  writeFileSync(output, JSON.stringify(result, null, 2) + '\n');
  console.log(`wrote ${output}`);
}
