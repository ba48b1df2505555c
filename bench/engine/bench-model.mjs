// The benchmark model shared by the engine benchmarks: engine-bench built from the working tree
// (its own CPU-only tree, incremental), random weights of a Llama shape written once under
// .data/bench/<shape> (bf16 safetensors), and the same weights as GGUF for llama.cpp peers
// (bf16 / f16 / q8_0 / q4_0), rewritten when older than the safetensors.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { writeGgufQ4 } from './gguf-q4.mjs';
import { writeGgufQ8 } from './gguf-q8.mjs';
import { writeGguf16 } from './gguf16.mjs';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const dataDir = join(root, '.data', 'bench');

/** Runs a command in the repository root; throws with its stderr when it fails. */
export function sh(cmd, args, what) {
  const r = spawnSync(cmd, args, {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) {
    process.stderr.write(r.stderr ?? '');
    throw new Error(`${what} failed (exit ${r.status})`);
  }
  return r;
}

/** engine-bench of the working tree (native/build-perf, CPU only), built incrementally. */
export function buildEngineBench(log = console.log) {
  const dir = 'native/build-perf';
  if (!existsSync(join(root, dir, 'CMakeCache.txt'))) {
    log(`bench: configuring ${dir} (CPU only)`);
    sh(
      'cmake',
      [
        '-S',
        'native',
        '-B',
        dir,
        '-DCMAKE_BUILD_TYPE=Release',
        '-DLLM_BUILD_TESTS=OFF',
        '-DLLM_WITH_CUDA=OFF',
      ],
      'cmake configure',
    );
  }
  sh('cmake', ['--build', dir, '--target', 'engine-bench', '-j', '2'], 'engine-bench build');
  return join(root, dir, 'bench', 'engine-bench');
}

/** The random `shape` model's directory, written with `benchBin` when missing. */
export function ensureRandomModel(benchBin, shape, threads, log = console.log) {
  const modelDir = join(dataDir, shape);
  mkdirSync(dataDir, { recursive: true });
  if (!existsSync(join(modelDir, 'model.safetensors'))) {
    log(`bench: writing random ${shape} weights to ${modelDir}`);
    sh(
      benchBin,
      ['--random-model', shape, '--out', modelDir, '--write-only', '--threads', String(threads)],
      'random model',
    );
  }
  return modelDir;
}

/** The model's weights as a GGUF of `kind` (bf16, f16, q8_0, q4_0) for llama.cpp. */
export function ensureGguf(modelDir, shape, kind, log = console.log) {
  const gguf = join(dataDir, `${shape}-${kind}.gguf`);
  if (!existsSync(gguf) || statSync(gguf).mtimeMs < statSync(join(modelDir, 'model.safetensors')).mtimeMs) {
    log(`bench: writing ${gguf}`);
    if (kind === 'q8_0') writeGgufQ8(modelDir, gguf);
    else if (kind === 'q4_0') writeGgufQ4(modelDir, gguf);
    else writeGguf16(modelDir, gguf, kind);
  }
  return gguf;
}

export const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
