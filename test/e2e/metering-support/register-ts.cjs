'use strict';
// Lets a plain `node` child process (a gateway replica the e2e tests can kill -9) load our
// TypeScript: @swc/core compiles each .ts file to CommonJS, and @app/<lib> maps to libs/<lib>/src.
const Module = require('node:module');
const path = require('node:path');
const fs = require('node:fs');
const { transformSync } = require('@swc/core');

const root = path.resolve(__dirname, '..', '..', '..');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const m = /^@app\/([a-z][a-z-]*)$/.exec(request);
  if (m) request = path.join(root, 'libs', m[1], 'src', 'index.ts');
  return resolve.call(this, request, ...rest);
};
const options = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};
require.extensions['.ts'] = function (module, filename) {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), { ...options, filename });
  module._compile(code, filename);
};
