#!/usr/bin/env node
// `npm test`: runs every test suite in order and prints a final line `N passed, N failed`
// summing them. Suites whose entry point does not exist (yet) are skipped. A suite that
// exits non-zero without reporting a failure counts as one failure (it crashed).
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCounts, runCommand } from './lib/run-suite.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const at = (p) => join(root, p);
const jestArgs = process.argv.slice(2);

const results = [];

function record(name, counts, code) {
  let { passed, failed } = counts ?? { passed: 0, failed: 0 };
  let note = '';
  if (code !== 0 && failed === 0) {
    failed = 1;
    note = ` (exited with code ${code})`;
  }
  results.push({ name, passed, failed, note });
  console.log(`\n[test-all] ${name}: ${passed} passed, ${failed} failed${note}\n`);
}

async function countedSuite(name, command, args, env = {}) {
  console.log(`\n[test-all] === ${name}: ${command} ${args.join(' ')} ===`);
  const { code, output } = await runCommand(command, args, { cwd: root, env: { ...process.env, ...env } });
  const counts = parseCounts(output);
  // A suite without a count line that passed counts as one passed check.
  record(name, counts ?? (code === 0 ? { passed: 1, failed: 0 } : null), code);
}

async function setupStep(name, command, args) {
  console.log(`\n[test-all] === ${name}: ${command} ${args.join(' ')} ===`);
  const { code } = await runCommand(command, args, { cwd: root });
  if (code !== 0) record(name, null, code);
  return code === 0;
}

async function jestSuite() {
  // The startup e2e test runs the compiled server, as `npm start` does.
  const build = await runCommand(process.execPath, [at('scripts/build.mjs'), '--if-stale'], { cwd: root });
  if (build.code !== 0) record('build', null, build.code);
  const outDir = at('.data/test-results');
  mkdirSync(outDir, { recursive: true });
  const outFile = join(outDir, 'jest.json');
  rmSync(outFile, { force: true });
  const jestBin = at('node_modules/jest/bin/jest.js');
  const args = [jestBin, '--json', `--outputFile=${outFile}`, ...jestArgs];
  console.log(`\n[test-all] === jest: node ${args.join(' ')} ===`);
  const { code } = await runCommand(process.execPath, args, { cwd: root, env: { ...process.env } });
  let counts = null;
  if (existsSync(outFile)) {
    const report = JSON.parse(readFileSync(outFile, 'utf8'));
    // Suites that failed to run (syntax error, crash in beforeAll) have no test results.
    const brokenSuites = report.numRuntimeErrorTestSuites ?? 0;
    counts = { passed: report.numPassedTests, failed: report.numFailedTests + brokenSuites };
  }
  record('jest', counts, code);
}

const suites = [
  async () => {
    if (existsSync(at('native/scripts/test.mjs')))
      await countedSuite('native (ctest)', process.execPath, [at('native/scripts/test.mjs')]);
    else console.log('[test-all] native/scripts/test.mjs not found, skipping native tests');
  },
  async () => {
    if (process.env.LLM_SKIP_SANITIZERS)
      console.log('[test-all] LLM_SKIP_SANITIZERS set, skipping sanitizers');
    else if (existsSync(at('native/scripts/sanitizers.sh')))
      await countedSuite('native sanitizers', 'bash', [at('native/scripts/sanitizers.sh')]);
    else console.log('[test-all] native/scripts/sanitizers.sh not found, skipping sanitizers');
  },
  async () => {
    if (existsSync(at('test/oracle/install.sh')))
      await setupStep('oracle install', 'bash', [at('test/oracle/install.sh')]);
  },
  jestSuite,
  async () => {
    if (existsSync(at('scripts/ci/ops-checks.sh')))
      await countedSuite('ops checks', 'bash', [at('scripts/ci/ops-checks.sh')]);
    else console.log('[test-all] scripts/ci/ops-checks.sh not found, skipping ops checks');
  },
];

for (const suite of suites) {
  try {
    await suite();
  } catch (err) {
    console.error(`[test-all] suite crashed: ${err && err.stack ? err.stack : err}`);
    record('crashed suite', null, 1);
  }
}

const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
console.log('\n[test-all] summary:');
for (const r of results)
  console.log(`[test-all]   ${r.name}: ${r.passed} passed, ${r.failed} failed${r.note}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
