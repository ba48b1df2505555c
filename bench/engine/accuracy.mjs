#!/usr/bin/env node
// `npm run bench:engine:accuracy`: how far each weight format moves the logits of the random
// Llama-3.2-1B-shape weights of `npm run bench:engine` (.data/bench/), ours and llama.cpp's, each
// against its own unquantized run on the same 16 prompt tokens: relative RMS of the logits,
// the lowest cosine of a position, and positions whose top token is unchanged.
// Ours: engine-bench --dump-logits (bf16 weights, then each --quantization); llama.cpp:
// test/oracle/llama-eval.mjs on the BF16, Q8_0 and Q4_0 GGUFs (written when missing).
//
//   npm run bench:engine:accuracy -- [--quantizations int8,int4] [--peers q8_0,q4_0] [--threads 2]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { writeGguf16 } from './gguf16.mjs';
import { writeGgufQ4 } from './gguf-q4.mjs';
import { writeGgufQ8 } from './gguf-q8.mjs';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const quantizations = arg('quantizations', 'int8,int4').split(',').filter(Boolean);
const peers = arg('peers', 'q8_0,q4_0').split(',').filter(Boolean);
const threads = arg('threads', '2');
const dataDir = join(root, '.data', 'bench');
const modelDir = join(dataDir, 'llama-3.2-1b');
const benchBin = join(root, 'native', 'build-perf', 'bench', 'engine-bench');
if (!existsSync(join(modelDir, 'model.safetensors')) || !existsSync(benchBin)) {
  console.error(
    'bench:engine:accuracy: run `npm run bench:engine` once first (it writes the weights and builds engine-bench)',
  );
  process.exit(2);
}
const TOKENS = Array.from({ length: 16 }, (_, i) => (i * 37 + 11) % 250); // engine-bench --dump-logits' prompt

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** Our logits, [position][vocab], with `quantization` weights. */
function ours(quantization) {
  const file = join(dataDir, `logits-${quantization}.bin`);
  run(benchBin, [
    '--model',
    modelDir,
    '--device',
    'cpu',
    '--threads',
    threads,
    '--quantization',
    quantization,
    '--dump-logits',
    file,
    '--dump-tokens',
    String(TOKENS.length),
  ]);
  const all = new Float32Array(readFileSync(file).buffer.slice(0));
  const vocab = all.length / TOKENS.length;
  return TOKENS.map((_, p) => all.subarray(p * vocab, (p + 1) * vocab));
}

/** llama.cpp's logits on the GGUF of `kind` (bf16, q8_0, q4_0). */
function llama(kind) {
  const gguf = join(dataDir, `llama-3.2-1b-${kind}.gguf`);
  if (!existsSync(gguf)) {
    console.log(`writing ${gguf}`);
    if (kind === 'q8_0') writeGgufQ8(modelDir, gguf);
    else if (kind === 'q4_0') writeGgufQ4(modelDir, gguf);
    else writeGguf16(modelDir, gguf, kind);
  }
  const out = run(process.execPath, [
    join(root, 'test', 'oracle', 'llama-eval.mjs'),
    JSON.stringify({ gguf, tokens: TOKENS, greedy: 0, contextSize: 64 }),
  ]);
  return JSON.parse(out).logits.map((row) => Float32Array.from(row));
}

function compare(ref, got) {
  let num = 0,
    den = 0,
    same = 0,
    worstCos = 1;
  for (let p = 0; p < ref.length; p++) {
    const r = ref[p],
      g = got[p];
    let d = 0,
      rr = 0,
      gg = 0,
      rg = 0,
      rTop = 0,
      gTop = 0;
    for (let v = 0; v < r.length; v++) {
      d += (r[v] - g[v]) ** 2;
      rr += r[v] * r[v];
      gg += g[v] * g[v];
      rg += r[v] * g[v];
      if (r[v] > r[rTop]) rTop = v;
      if (g[v] > g[gTop]) gTop = v;
    }
    num += d;
    den += rr;
    worstCos = Math.min(worstCos, rg / Math.sqrt(rr * gg));
    same += rTop === gTop ? 1 : 0;
  }
  return { relRms: Math.sqrt(num / den), worstCos, same, of: ref.length };
}

const rows = [];
const ourRef = ours('none');
for (const q of quantizations) rows.push([`ours ${q} vs ours bf16`, compare(ourRef, ours(q))]);
if (peers.length) {
  const llamaRef = llama('bf16');
  rows.push(['llama.cpp BF16 vs ours bf16 (same weights)', compare(ourRef, llamaRef)]);
  for (const p of peers)
    rows.push([`llama.cpp ${p.toUpperCase()} vs llama.cpp BF16`, compare(llamaRef, llama(p))]);
}
console.log('| logits of 16 prompt positions | relative RMS | lowest cosine | same top token |');
console.log('| --- | ---: | ---: | ---: |');
for (const [what, c] of rows)
  console.log(
    `| ${what} | ${(100 * c.relRms).toFixed(1)} % | ${c.worstCos.toFixed(4)} | ${c.same} / ${c.of} |`,
  );
