// Times the addon's checkJsonSchema (the gateway's check before admitting a json_schema or
// forced-tool request) on a tool_choice 'required' call schema over N tools, first call (a
// compile) and repeats (the compiled-schema cache).
//   node bench/structured/schema-compile.mjs [--tools 64] [--calls 200] [--rounds 3]
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const addon = createRequire(import.meta.url)(join(root, 'native', 'build', 'Release', 'llm_engine.node'));
const { values } = parseArgs({
  options: {
    tools: { type: 'string', default: '64' },
    calls: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '3' },
  },
});
const [tools, calls, rounds] = [values.tools, values.calls, values.rounds].map(Number);

// A tool with 12 parameters: strings, enums and arrays of small objects.
const param = (j) =>
  j % 3 === 0
    ? { type: 'string' }
    : j % 3 === 1
      ? { enum: ['a', 'b', 'c'] }
      : {
          type: 'array',
          items: {
            type: 'object',
            properties: { x: { type: 'integer' }, y: { type: ['string', 'null'] } },
            required: ['x'],
          },
        };
const call = (i) => ({
  type: 'object',
  properties: {
    name: { const: `tool_${i}` },
    parameters: {
      type: 'object',
      properties: Object.fromEntries(Array.from({ length: 12 }, (_, j) => [`p${j}`, param(j)])),
      required: ['p0', 'p1'],
    },
  },
  required: ['name', 'parameters'],
});
const schema = JSON.stringify({ anyOf: Array.from({ length: tools }, (_, i) => call(i)) });

const time = (fn) => {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e3;
};
const first = time(() => {
  const why = addon.checkJsonSchema(schema);
  if (why !== null) throw new Error(why);
});
console.log(`${tools} tools, schema ${schema.length} bytes: first call (compile) ${first.toFixed(1)} us`);
for (let r = 0; r < rounds; r++) {
  const us = time(() => {
    for (let i = 0; i < calls; i++) addon.checkJsonSchema(schema);
  });
  console.log(`round ${r + 1}: ${(us / calls).toFixed(1)} us per repeat call`);
}
