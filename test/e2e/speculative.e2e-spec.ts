import { parsePromText, sampleSum } from '@app/observability';
import { InferenceApp, startInferenceApp } from './support/inference-app';

// SPECULATIVE_NGRAM_TOKENS from the environment, as `npm start` reads it: the same requests give
// the same text (greedy and seeded, plain and streamed) as on an engine without speculation,
// usage counts every generated token once, and /metrics shows the drafts and their acceptance.
const model = 'tiny-llama';
const prompt = 'la la la la la la la la la la la la';

describe('SPECULATIVE_NGRAM_TOKENS=4', () => {
  let spec: InferenceApp;
  let plain: InferenceApp;

  beforeAll(async () => {
    spec = await startInferenceApp('spec', { SPECULATIVE_NGRAM_TOKENS: '4' }, { model, fromConfig: true });
    plain = await startInferenceApp('spec-plain', {}, { model });
  }, 180_000);
  afterAll(async () => {
    await spec?.close();
    await plain?.close();
  });

  const complete = (app: InferenceApp, body: object) =>
    app.request('POST', '/v1/completions', {
      apiKey: app.apiKey,
      body: { model, prompt, max_tokens: 48, ignore_eos: true, ...body },
    });

  it('answers exactly what plain decoding answers, and bills each token once', async () => {
    for (const sampling of [{ temperature: 0 }, { temperature: 0.9, seed: 7 }]) {
      const [a, b] = [await complete(spec, sampling), await complete(plain, sampling)];
      expect(a.status).toBe(200);
      expect(a.body.choices[0].text).toBe(b.body.choices[0].text);
      expect(a.body.usage).toEqual(b.body.usage);
      expect(a.body.usage.completion_tokens).toBe(48);
    }
    const streamed = await spec.request('POST', '/v1/completions', {
      apiKey: spec.apiKey,
      body: { model, prompt, max_tokens: 48, ignore_eos: true, temperature: 0, stream: true },
    });
    const text = streamed.text
      .split('\n')
      .filter((l) => l.startsWith('data: {'))
      .map((l) => JSON.parse(l.slice(6)).choices[0]?.text ?? '')
      .join('');
    expect(text).toBe((await complete(plain, { temperature: 0 })).body.choices[0].text);
  });

  it('keeps structured output and logprobs exactly as plain decoding has them', async () => {
    const body = {
      model,
      messages: [{ role: 'user', content: prompt }],
      max_tokens: 40,
      temperature: 0.7,
      seed: 3,
      logprobs: true,
      top_logprobs: 2,
      response_format: { type: 'json_object' },
    };
    const [a, b] = await Promise.all(
      [spec, plain].map((app) => app.request('POST', '/v1/chat/completions', { apiKey: app.apiKey, body })),
    );
    expect(a.status).toBe(200);
    expect(a.body.choices[0].message.content).toBe(b.body.choices[0].message.content);
    expect(a.body.choices[0].logprobs).toEqual(b.body.choices[0].logprobs);
  });

  it('exports draft and accepted token counters', async () => {
    const s = parsePromText((await spec.request('GET', '/metrics')).text);
    const drafted = sampleSum(s, 'llm_spec_decode_num_draft_tokens_total', { model_name: model }) ?? 0;
    const accepted = sampleSum(s, 'llm_spec_decode_num_accepted_tokens_total', { model_name: model }) ?? 0;
    expect(drafted).toBeGreaterThan(0);
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThanOrEqual(drafted);
  });
});
