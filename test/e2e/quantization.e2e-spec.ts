import { ENGINE_PROVIDER, EngineProvider } from '@app/engine';
import { join } from 'node:path';
import { ensureModel, InferenceApp, ROOT, startInferenceApp, usageRow } from './support/inference-app';

// QUANTIZATION=int8 from the environment, as `npm start` reads it: the engine runs int8 weights
// (mid fixture), says so in /ready, and serves and bills requests like the bf16 engine.
const model = 'mid-llama';

describe('QUANTIZATION=int8', () => {
  let app: InferenceApp;

  beforeAll(async () => {
    app = await startInferenceApp('quant', { QUANTIZATION: 'int8' }, { model, fromConfig: true });
  }, 120_000);
  afterAll(() => app?.close());

  it('loads the engine with int8 weights and reports it', async () => {
    expect(app.app.get<EngineProvider>(ENGINE_PROVIDER).info()).toMatchObject({
      backend: 'cpu',
      quantization: 'int8',
    });
    const ready = await app.request('GET', '/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.checks.engine.detail).toMatch(/^cpu \(int8\): .*mid-llama$/);
  });

  it('serves a completion and bills its tokens', async () => {
    const res = await app.request('POST', '/v1/completions', {
      apiKey: app.apiKey,
      body: { model, prompt: 'The int8 engine says', max_tokens: 12, temperature: 0, ignore_eos: true },
    });
    expect(res.status).toBe(200);
    expect(res.body.usage.completion_tokens).toBe(12);
    expect(res.body.choices[0].text.length).toBeGreaterThan(0);
    const again = await app.request('POST', '/v1/completions', {
      apiKey: app.apiKey,
      body: { model, prompt: 'The int8 engine says', max_tokens: 12, temperature: 0, ignore_eos: true },
    });
    expect(again.body.choices[0].text).toBe(res.body.choices[0].text); // greedy stays deterministic
    const row = await usageRow(app, res.body.id as string);
    expect(row).toMatchObject({ status: 'completed', completion_tokens: 12 });
  });

  it('int8-bf16 serves where the CPU has AVX512_BF16, and is refused with a clear message elsewhere', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const addon = require(join(ROOT, 'native', 'build', 'Release', 'llm_engine.node')) as {
      computeLogits(o: {
        modelPath: string;
        tokens: number[];
        threads: number;
        quantization: string;
      }): Float32Array;
    };
    let refused: string | null = null;
    try {
      addon.computeLogits({
        modelPath: ensureModel('mid-llama'),
        tokens: [1, 2, 3],
        threads: 1,
        quantization: 'int8-bf16',
      });
    } catch (err) {
      refused = (err as Error).message;
    }
    if (refused !== null) {
      expect(refused).toMatch(/int8-bf16 needs AVX512_BF16/);
      return;
    }
    const bf16 = await startInferenceApp(
      'quant-bf16',
      { QUANTIZATION: 'int8-bf16' },
      { model, fromConfig: true },
    );
    try {
      expect(bf16.app.get<EngineProvider>(ENGINE_PROVIDER).info().quantization).toBe('int8-bf16');
      const res = await bf16.request('POST', '/v1/completions', {
        apiKey: bf16.apiKey,
        body: { model, prompt: 'The int8 engine says', max_tokens: 12, temperature: 0, ignore_eos: true },
      });
      expect(res.status).toBe(200);
      expect(res.body.usage.completion_tokens).toBe(12);
    } finally {
      await bf16.close();
    }
  }, 120_000);
});

// QUANTIZATION=int4: groups of 32 weights in 4 bits, int8 activations (AVX2 or AVX-512 VNNI kernels).
describe('QUANTIZATION=int4', () => {
  let app: InferenceApp;

  beforeAll(async () => {
    app = await startInferenceApp('quant-int4', { QUANTIZATION: 'int4' }, { model, fromConfig: true });
  }, 120_000);
  afterAll(() => app?.close());

  it('loads int4 weights, reports them, and serves and bills greedy completions deterministically', async () => {
    expect(app.app.get<EngineProvider>(ENGINE_PROVIDER).info()).toMatchObject({
      backend: 'cpu',
      quantization: 'int4',
    });
    const ready = await app.request('GET', '/ready');
    expect(ready.body.checks.engine.detail).toMatch(/^cpu \(int4\): .*mid-llama$/);
    const body = { model, prompt: 'The int4 engine says', max_tokens: 12, temperature: 0, ignore_eos: true };
    const res = await app.request('POST', '/v1/completions', { apiKey: app.apiKey, body });
    expect(res.status).toBe(200);
    expect(res.body.usage.completion_tokens).toBe(12);
    const again = await app.request('POST', '/v1/completions', { apiKey: app.apiKey, body });
    expect(again.body.choices[0].text).toBe(res.body.choices[0].text);
    const row = await usageRow(app, res.body.id as string);
    expect(row).toMatchObject({ status: 'completed', completion_tokens: 12 });
  });
});
