import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelsFileError, parseModelsFile } from './models-file';
import { ModelRouter } from './model-router';

const parse = (value: unknown) => parseModelsFile(JSON.stringify(value), '/etc/llm');

describe('parseModelsFile', () => {
  it('reads models (paths relative to the file), aliases and fallbacks', () => {
    const spec = parse({
      models: [
        { id: 'small', path: 'models/small', max_num_seqs: 8, quantization: 'int8', threads: 2 },
        { id: 'big', path: '/models/big', upstreams: ['http://a:8000'], api_key: ['k1'] },
      ],
      aliases: { chat: { targets: { small: 3, big: 1 }, assign: 'key' } },
      fallbacks: { big: ['small'] },
      context_fallbacks: { small: ['big'] },
      fallback_wait_ms: 2000,
    });
    expect(spec.models).toEqual([
      {
        id: 'small',
        path: '/etc/llm/models/small',
        maxNumSeqs: 8,
        maxModelLength: undefined,
        threads: 2,
        quantization: 'int8',
        speculativeNgramTokens: undefined,
      },
      {
        id: 'big',
        path: '/models/big',
        upstreams: ['http://a:8000'],
        apiKey: ['k1'],
        maxNumSeqs: undefined,
        maxModelLength: undefined,
        threads: undefined,
        speculativeNgramTokens: undefined,
      },
    ]);
    expect(spec.aliases).toEqual({ chat: { targets: { small: 3, big: 1 }, assign: 'key' } });
    expect(spec.fallbacks).toEqual({ big: ['small'] });
    expect(spec.contextFallbacks).toEqual({ small: ['big'] });
    expect(spec.fallbackWaitMs).toBe(2000);
  });

  it('api_key_env reads the upstream key(s) from the environment, not the file', () => {
    const remote = (extra: object) =>
      JSON.stringify({ models: [{ id: 'r', path: '/m', upstreams: ['http://a', 'http://b'], ...extra }] });
    const env = { UP_KEY: 'k1, k2', ONE_KEY: 'k' };
    expect(parseModelsFile(remote({ api_key_env: 'UP_KEY' }), '/', env).models[0].apiKey).toEqual([
      'k1',
      'k2',
    ]);
    expect(parseModelsFile(remote({ api_key_env: 'ONE_KEY' }), '/', env).models[0].apiKey).toBe('k');
    expect(() => parseModelsFile(remote({ api_key_env: 'NOPE' }), '/', env)).toThrow(
      /models\[0\]\.api_key_env: the environment variable NOPE is not set/,
    );
    expect(() => parseModelsFile(remote({ api_key_env: 'ONE_KEY', api_key: 'x' }), '/', env)).toThrow(
      /give api_key or api_key_env, not both/,
    );
  });

  it('defaults: no models, aliases or fallbacks; aliases assign per request', () => {
    expect(parse({})).toEqual({ models: [], aliases: {}, fallbacks: {}, contextFallbacks: {} });
    expect(parse({ aliases: { a: { targets: { x: 1 } } } }).aliases.a.assign).toBe('request');
  });

  it.each([
    ['{', /\(file\): not valid JSON/],
    ['[]', /\(top level\): must be an object/],
    ['{"model": []}', /\(top level\)\.model: unknown field/],
    ['{"models": {}}', /models: must be an array/],
    ['{"models": [{"path": "/m"}]}', /models\[0\]\.id: must be a non-empty string/],
    ['{"models": [{"id": "bad id", "path": "/m"}]}', /models\[0\]\.id: must be 1-128 of/],
    ['{"models": [{"id": "a"}]}', /models\[0\]\.path: must be a non-empty string/],
    [
      '{"models": [{"id": "a", "path": "/m", "max_num_seqs": 0}]}',
      /models\[0\]\.max_num_seqs: must be an integer between 1 and 4096/,
    ],
    [
      '{"models": [{"id": "a", "path": "/m", "quantization": "int3"}]}',
      /models\[0\]\.quantization: must be one of .none., .int8., .int8-bf16., .int4./,
    ],
    [
      '{"models": [{"id": "a", "path": "/m", "gpu_memory_utilization": 2}]}',
      /gpu_memory_utilization: must be a number between 0.05 and 1/,
    ],
    ['{"models": [{"id": "a", "path": "/m", "api_key": "k"}]}', /models\[0\]\.api_key: only remote models/],
    [
      '{"models": [{"id": "a", "path": "/m", "upstreams": ["ftp://x"]}]}',
      /upstreams\[0\]: must be an http\(s\) URL/,
    ],
    [
      '{"models": [{"id": "a", "path": "/m", "upstreams": ["http://x"], "threads": 2}]}',
      /models\[0\]\.threads: applies to native models only/,
    ],
    ['{"aliases": {"a": {"targets": {}}}}', /aliases\.a\.targets: must name at least one model/],
    ['{"aliases": {"a": {"targets": {"x": 0}}}}', /aliases\.a\.targets\.x: must be an integer between 1/],
    [
      '{"aliases": {"a": {"targets": {"x": 1}, "assign": "team"}}}',
      /aliases\.a\.assign: must be 'request', 'key', 'user' or 'least_busy'/,
    ],
    ['{"fallbacks": {"a": []}}', /fallbacks\.a: must be a non-empty array/],
    ['{"context_fallbacks": {"a": "b"}}', /context_fallbacks\.a: must be a non-empty array/],
    ['{"fallback_wait_ms": 0}', /fallback_wait_ms: must be an integer between 1 and 3600000/],
  ])('refuses %s with the offending path', (source, message) => {
    expect(() => parseModelsFile(source, '/')).toThrow(ModelsFileError);
    expect(() => parseModelsFile(source, '/')).toThrow(message);
  });

  it('config/models.example.json parses and routes (the docs show it)', () => {
    const path = join(__dirname, '../../../../config/models.example.json');
    const spec = parseModelsFile(readFileSync(path, 'utf8'), '/', { GPU_UPSTREAM_KEYS: 'k1,k2' });
    const router = new ModelRouter(['llama-3.2-1b-instruct', ...spec.models.map((m) => m.id)], spec);
    expect(router.route('llama-3.1-8b-instruct', { apiKeyId: 'k' })).toEqual({
      model: 'llama-3.1-8b-instruct',
      fallbacks: ['llama-3.2-1b-instruct'],
      contextFallbacks: [],
      fallbackWaitMs: 2000,
    });
    expect(router.route('llama-3.2-1b-instruct-int8', { apiKeyId: 'k' })?.contextFallbacks).toEqual([
      'llama-3.1-8b-instruct',
    ]);
  });
});
