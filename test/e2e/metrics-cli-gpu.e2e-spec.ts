import { UsageError } from '../../apps/cli/src/args';
import { gpuCommand } from '../../apps/cli/src/commands/gpu';
import { InferenceApp, startInferenceApp } from './support/inference-app';

// `llm-inference gpu --once` against a running gateway (real engine, tiny model).
describe('llm-inference gpu', () => {
  let app: InferenceApp;
  const TOKEN = 'cli-gpu-token-0123456789';
  const gpu = (flags: Record<string, string | true>) => gpuCommand({ positional: ['gpu'], flags });

  beforeAll(async () => {
    app = await startInferenceApp('metricscli', { METRICS_BEARER_TOKEN: TOKEN });
  }, 120_000);
  afterAll(() => app?.close());

  it('shows the engine, its counters and the GPUs (none on a CPU host) from /metrics', async () => {
    const chat = await app.request('POST', '/v1/chat/completions', {
      apiKey: app.apiKey,
      body: {
        model: 'tiny-llama',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 7,
        ignore_eos: true,
      },
    });
    expect(chat.status).toBe(200);
    const out = await gpu({ url: app.baseUrl, token: TOKEN, once: true });
    expect(out).toContain(`llm-inference gpu  ${app.baseUrl}`);
    expect(out).toContain('Engine: up   model tiny-llama');
    expect(out).toMatch(/running 0 {3}waiting 0 {3}KV cache 0\.0%/);
    expect(out).toContain('total generated 7');
    expect(out).toMatch(/TTFT \d+\.\d ms/);
    expect(out).toContain('Lanes queued: interactive 0   standard 0   batch 0');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const addon = require('../../native/build/Release/llm_engine.node') as {
      gpuInfo(): { available: boolean };
    };
    if (addon.gpuInfo().available) expect(out).toMatch(/^0 +\d+% +\d+\.\d \/ \d+\.\d GiB/m);
    else expect(out).toContain('GPU: none reported');
  });

  it('clear errors: missing or wrong token, unreachable server, bad --interval', async () => {
    await expect(gpu({ url: app.baseUrl, once: true })).rejects.toThrow(/needs a bearer token/);
    await expect(gpu({ url: app.baseUrl, token: 'nope', once: true })).rejects.toThrow(
      /needs a bearer token/,
    );
    await expect(gpu({ url: 'http://127.0.0.1:1', token: TOKEN, once: true })).rejects.toThrow(
      /cannot reach/,
    );
    await expect(gpu({ url: app.baseUrl, token: TOKEN, interval: 'x' })).rejects.toThrow(UsageError);
  });
});
