import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { ensureModel, InferenceApp, latestUsageRow, startInferenceApp } from './support/inference-app';

// POST /v1/embeddings through the official openai client (which asks for base64) and raw HTTP:
// real gateway, real Postgres, real native engine, tiny model (16 engine slots).
describe('embeddings API (tiny model)', () => {
  let app: InferenceApp;
  let client: OpenAI;
  const model = 'tiny-llama';
  const hidden = (
    JSON.parse(readFileSync(join(ensureModel(model), 'config.json'), 'utf8')) as {
      hidden_size: number;
    }
  ).hidden_size;

  beforeAll(async () => {
    app = await startInferenceApp('embeddings', { RATE_LIMIT: '100000/minute' });
    client = new OpenAI({ apiKey: app.apiKey, baseURL: `${app.baseUrl}/v1`, maxRetries: 0 });
  }, 120_000);
  afterAll(() => app?.close());

  const embed = (body: object) => app.request('POST', '/v1/embeddings', { apiKey: app.apiKey, body });
  const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);

  it('one unit vector per input in OpenAI shape; usage counts the real prompt tokens; billed once', async () => {
    const since = new Date();
    const res = await embed({ model, input: 'The quick brown fox' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ object: 'list', model, data: [{ object: 'embedding', index: 0 }] });
    const v = res.body.data[0].embedding as number[];
    expect(v).toHaveLength(hidden);
    expect(norm(v)).toBeCloseTo(1, 5);
    const ids = (
      await app.request('POST', '/tokenize', { apiKey: app.apiKey, body: { prompt: 'The quick brown fox' } })
    ).body.tokens as number[];
    expect(res.body.usage).toEqual({ prompt_tokens: ids.length, total_tokens: ids.length });
    const row = await latestUsageRow(app, 'completed', since);
    expect(row).toMatchObject({ model, prompt_tokens: ids.length, completion_tokens: 0, kind: 'embedding' });
    expect(row.request_id).toMatch(/^embd-/);

    // The same text as token ids gives the same vector; another text another one.
    const again = await embed({ model, input: [ids] });
    expect(again.body.data[0].embedding).toEqual(v);
    const other = (await embed({ model, input: 'Something else entirely' })).body.data[0]
      .embedding as number[];
    expect(dot(v, other)).toBeLessThan(0.999);

    // service_tier picks the lane, as on chat: flex waits in the batch lane.
    const flexSince = new Date();
    expect((await embed({ model, input: 'bulk', service_tier: 'flex' })).status).toBe(200);
    expect(await latestUsageRow(app, 'completed', flexSince)).toMatchObject({
      lane: 'batch',
      kind: 'embedding',
    });
  });

  it('many inputs (more than the engine slots, so in waves) keep their order and their own vectors', async () => {
    const texts = Array.from({ length: 20 }, (_, i) => `input number ${i}`);
    const one = async (t: string) => (await embed({ model, input: t })).body.data[0].embedding as number[];
    const since = new Date();
    const res = await embed({ model, input: texts });
    expect(res.status).toBe(200);
    // One usage event for the request, with every input's prompt tokens.
    expect((await latestUsageRow(app, 'completed', since)).prompt_tokens).toBe(res.body.usage.prompt_tokens);
    let tokens = 0;
    for (const t of texts)
      tokens += (
        (await app.request('POST', '/tokenize', { apiKey: app.apiKey, body: { prompt: t } })).body
          .tokens as number[]
      ).length;
    expect(res.body.usage.prompt_tokens).toBe(tokens);
    expect(res.body.data.map((d: { index: number }) => d.index)).toEqual(texts.map((_, i) => i));
    for (const i of [0, 7, 19]) expect(res.body.data[i].embedding).toEqual(await one(texts[i]));
  });

  it('the openai client (base64) and dimensions: a prefix of the vector, normalized again', async () => {
    const full = (await embed({ model, input: 'dimensions' })).body.data[0].embedding as number[];
    const viaClient = await client.embeddings.create({ model, input: 'dimensions' });
    expect(viaClient.data[0].embedding).toHaveLength(hidden);
    viaClient.data[0].embedding.forEach((x, i) => expect(x).toBeCloseTo(full[i], 6));
    const short = await client.embeddings.create({ model, input: 'dimensions', dimensions: 8 });
    const prefix = full.slice(0, 8);
    const scaled = prefix.map((x) => x / norm(prefix));
    expect(short.data[0].embedding).toHaveLength(8);
    short.data[0].embedding.forEach((x, i) => expect(x).toBeCloseTo(scaled[i], 5));
    const raw = await embed({ model, input: 'dimensions', encoding_format: 'base64' });
    const bytes = Buffer.from(raw.body.data[0].embedding as string, 'base64');
    expect(bytes.length).toBe(hidden * 4);
    expect(bytes.readFloatLE(4)).toBeCloseTo(full[1], 6);
  });

  it('bad input is a 400 in OpenAI error shape', async () => {
    const cases: [object, string, RegExp][] = [
      [{ model }, 'input', /Missing required parameter: 'input'/],
      [{ model, input: '' }, 'input', /must not be an empty string/],
      [{ model, input: ['a', ''] }, 'input[1]', /must not be an empty string/],
      [{ model, input: [] }, 'input', /must not be an empty array/],
      [{ model, input: [1, 1e9] }, 'input', /./],
      [{ model, input: 'x', dimensions: 0 }, 'dimensions', /./],
      [{ model, input: 'x', dimensions: hidden + 1 }, 'dimensions', new RegExp(`at most ${hidden}`)],
      [{ model, input: 'x', encoding_format: 'int8' }, 'encoding_format', /./],
      [{ model, input: 'x', temperature: 1 }, 'temperature', /Unrecognized request argument/],
      [{ model: 'nope', input: 'x' }, 'model', /does not exist/],
      [{ model, input: Array.from({ length: 3000 }, () => 1) }, 'input', /maximum context length/],
    ];
    for (const [body, param, message] of cases) {
      const res = await embed(body);
      expect([res.status, res.body.error?.param]).toEqual([param === 'model' ? 404 : 400, param]);
      expect(res.body.error.message).toMatch(message);
    }
    expect((await app.request('POST', '/v1/embeddings', { body: { model, input: 'x' } })).status).toBe(401);
  });

  it('usage reports tell embedding tokens from generation tokens (group_by=kind, and per end user)', async () => {
    const key = await app.newTenantKey('embeddings-kind');
    const embedded = await app.request('POST', '/v1/embeddings', {
      apiKey: key,
      body: { model, input: ['a', 'b'], user: 'eve' },
    });
    const generated = await app.request('POST', '/v1/completions', {
      apiKey: key,
      body: { model, prompt: 'hello', max_tokens: 3, ignore_eos: true, user: 'eve' },
    });
    const want = [
      ['embedding', 1, embedded.body.usage.prompt_tokens, 0],
      ['generation', 1, generated.body.usage.prompt_tokens, 3],
    ];
    type Row = { kind: string; requests: number; prompt_tokens: number; completion_tokens: number };
    let rows: Row[] = [];
    for (let i = 0; i < 50; i++) {
      const report = await app.request('GET', '/v1/usage?group_by=kind', { apiKey: key });
      rows = report.body.data as Row[];
      if (rows.reduce((s, r) => s + r.requests, 0) >= 2) break;
      await new Promise((r) => setTimeout(r, 200)); // metering flushes about once a second
    }
    expect(rows.map((r) => [r.kind, r.requests, r.prompt_tokens, r.completion_tokens])).toEqual(want);
    // The per-end-user rollup keeps the kinds apart too.
    const byUser = await app.request('GET', '/v1/usage?group_by=user,kind', { apiKey: key });
    expect(
      (byUser.body.data as (Row & { end_user: string })[]).map((r) => [
        r.end_user,
        r.kind,
        r.requests,
        r.prompt_tokens,
        r.completion_tokens,
      ]),
    ).toEqual(want.map((w) => ['eve', ...w]));
  });
});
