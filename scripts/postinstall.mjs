#!/usr/bin/env node
// Runs after `npm install` / `npm ci` at the root: builds the native engine (when its build
// script exists) and compiles the TypeScript sources, so `npm start` works right away.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function run(label, args) {
  console.log(`postinstall: ${label}`);
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: process.env });
  if (result.status !== 0) {
    console.error(`postinstall: ${label} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}

if (process.env.LLM_SKIP_NATIVE_BUILD) {
  console.log('postinstall: LLM_SKIP_NATIVE_BUILD is set, skipping the native build');
} else if (existsSync(join(root, 'native', 'scripts', 'build.mjs'))) {
  run('building the native engine (npm run build:native)', [join(root, 'native', 'scripts', 'build.mjs')]);
} else {
  console.log('postinstall: native/scripts/build.mjs not found, skipping the native build');
}

run('compiling TypeScript', [join(root, 'scripts', 'build.mjs')]);
