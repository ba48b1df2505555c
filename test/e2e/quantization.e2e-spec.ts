import { ENGINE_PROVIDER, EngineProvider } from '@app/engine';
import { InferenceApp, startInferenceApp, usageRow } from './support/inference-app';

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
});
