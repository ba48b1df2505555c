#!/usr/bin/env node
// Builds the N-API addon native/build/Release/llm_engine.node with cmake-js (offline: the root
// package.json's binary.napi_versions makes cmake-js use the node-api-headers package).
// A no-op when the .node file is newer than every native source. Flags:
//   --force         rebuild even when up to date
//   --debug         Debug configuration
//   --no-cuda       -DLLM_WITH_CUDA=OFF (default: auto, ON when nvcc is found)
//   -j N            parallel jobs (default 2)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const nativeDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = dirname(nativeDir);
const args = process.argv.slice(2);
const force = args.includes('--force');
const debug = args.includes('--debug');
const noCuda = args.includes('--no-cuda') || process.env.LLM_WITH_CUDA === 'OFF';
const jIndex = args.indexOf('-j');
const jobs = jIndex >= 0 ? Number(args[jIndex + 1]) : 2;
const config = debug ? 'Debug' : 'Release';
const output = join(nativeDir, 'build', config, 'llm_engine.node');

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('build') || entry.name === 'tests' || entry.name === 'bench') continue;
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (/\.(c|cc|cpp|cu|cuh|h|hpp|inc|txt|cmake)$/.test(entry.name)) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

if (!force && existsSync(output) && statSync(output).mtimeMs >= newestMtime(nativeDir)) {
  console.log(`native: ${output} is up to date`);
  process.exit(0);
}

const cmakeJs = join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
if (!existsSync(cmakeJs)) {
  console.error('native: cmake-js is not installed; run `npm install` at the repository root');
  process.exit(1);
}
const cmakeArgs = [
  cmakeJs, 'compile', '--directory', nativeDir, '--out', join(nativeDir, 'build'),
  '--config', config, '--parallel', String(jobs), '--CDLLM_BUILD_TESTS=OFF',
];
if (noCuda) cmakeArgs.push('--CDLLM_WITH_CUDA=OFF');
const started = Date.now();
const r = spawnSync(process.execPath, cmakeArgs, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error(`native: build failed (exit ${r.status})`);
  process.exit(r.status ?? 1);
}
if (!existsSync(output)) {
  console.error(`native: build finished but ${output} is missing`);
  process.exit(1);
}
console.log(`native: built ${output} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
