#!/usr/bin/env node
'use strict';
// The `llm-inference` command (npx llm-inference ...): runs the compiled CLI from dist/.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..', '..', '..');
const entry = join(root, 'dist', 'apps', 'cli', 'src', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write(
    `llm-inference: ${entry} is missing; run \`npm install\` or \`npm run build\` in ${root}\n`,
  );
  process.exit(1);
}
require(join(root, 'scripts', 'lib', 'aliases.cjs'));
require(entry);
