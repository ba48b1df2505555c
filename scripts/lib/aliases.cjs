'use strict';
// Runtime resolution of the @app/<lib> path aliases for the compiled output in dist/.
// (tsc does not rewrite "paths"; Jest maps them with moduleNameMapper instead.)
const Module = require('node:module');
const path = require('node:path');

const distRoot = path.resolve(__dirname, '..', '..', 'dist');
const originalResolve = Module._resolveFilename;

Module._resolveFilename = function resolveAppAlias(request, ...rest) {
  const match = /^@app\/([a-z][a-z-]*)$/.exec(request);
  if (match) {
    request = path.join(distRoot, 'libs', match[1], 'src', 'index.js');
  }
  return originalResolve.call(this, request, ...rest);
};
