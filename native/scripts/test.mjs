#!/usr/bin/env node
// Configures and builds the plain CMake tree (no Node needed by it), generates the model
// fixtures into .data/models/ when test/fixtures/make-tiny-model.mjs exists, runs ctest and
// ends with one line "N passed, N failed" (ctest tests; skipped ones are reported above it).
// Flags:
//   --build-dir DIR   default native/build-tests
//   --sanitize        -DLLM_SANITIZE=ON (AddressSanitizer + UBSan)
//   --no-cuda         -DLLM_WITH_CUDA=OFF (default: auto)
//   -L LABEL / -R REGEX   passed to ctest
//   -j N              build/test parallelism (default 2)
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const nativeDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = dirname(nativeDir);
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const sanitize = args.includes('--sanitize');
const noCuda = args.includes('--no-cuda') || process.env.LLM_WITH_CUDA === 'OFF';
const buildDir = resolve(root, opt('--build-dir', join('native', sanitize ? 'build-asan' : 'build-tests')));
const jobs = opt('-j', '2');

function run(cmd, cmdArgs, extra = {}) {
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit', ...extra });
  return r.status ?? 1;
}

function fail(message) {
  console.error(`native tests: ${message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

// 1. Fixtures.
const fixtureScript = join(root, 'test', 'fixtures', 'make-tiny-model.mjs');
const models = join(root, '.data', 'models');
if (existsSync(fixtureScript)) {
  for (const [size, dir] of [['tiny', 'tiny-llama'], ['mid', 'mid-llama']]) {
    const out = join(models, dir);
    const config = join(out, 'config.json');
    if (existsSync(config) && statSync(config).mtimeMs >= statSync(fixtureScript).mtimeMs) continue;
    if (run(process.execPath, [fixtureScript, '--out', out, '--size', size]) !== 0)
      fail(`could not generate the ${size} fixture`);
  }
}

// 2. Configure + build.
const configure = ['-S', nativeDir, '-B', buildDir, '-DCMAKE_BUILD_TYPE=' + (sanitize ? 'RelWithDebInfo' : 'Release')];
if (sanitize) configure.push('-DLLM_SANITIZE=ON', '-DLLM_WITH_CUDA=OFF');
else if (noCuda) configure.push('-DLLM_WITH_CUDA=OFF');
if (run('cmake', configure) !== 0) fail('cmake configure failed');
if (run('cmake', ['--build', buildDir, '-j', jobs]) !== 0) fail('build failed');

// 3. ctest.
const env = { ...process.env };
if (!env.LLM_TEST_MODEL_DIR && existsSync(join(models, 'tiny-llama', 'config.json')))
  env.LLM_TEST_MODEL_DIR = join(models, 'tiny-llama');
if (!env.LLM_TEST_MID_MODEL_DIR && existsSync(join(models, 'mid-llama', 'config.json')))
  env.LLM_TEST_MID_MODEL_DIR = join(models, 'mid-llama');
if (sanitize) {
  env.ASAN_OPTIONS = env.ASAN_OPTIONS ?? 'detect_leaks=1:abort_on_error=1';
  env.UBSAN_OPTIONS = env.UBSAN_OPTIONS ?? 'print_stacktrace=1:halt_on_error=1';
}
const ctestArgs = ['--test-dir', buildDir, '--output-on-failure', '-j', jobs];
for (const flag of ['-L', '-R', '-E', '-LE']) {
  const v = opt(flag);
  if (v) ctestArgs.push(flag, v);
}
const r = spawnSync('ctest', ctestArgs, { cwd: root, env, encoding: 'utf8', maxBuffer: 256 << 20 });
process.stdout.write(r.stdout ?? '');
process.stderr.write(r.stderr ?? '');
const lines = (r.stdout ?? '').split('\n').filter((l) => /Test\s+#\d+:/.test(l));
const passed = lines.filter((l) => /\sPassed\s/.test(l)).length;
const skipped = lines.filter((l) => /Skipped/.test(l)).length;
let failed = lines.length - passed - skipped;
if (r.status !== 0 && failed === 0) failed = 1; // ctest itself failed
if (skipped) console.log(`native tests: ${skipped} skipped`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
