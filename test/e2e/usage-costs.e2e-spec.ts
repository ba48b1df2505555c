import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { InferenceApp, startInferenceApp } from './support/inference-app';

// Usage reports with PRICES_FILE: each row's cost from the rollups, priced per model and lane,
// whatever the grouping. Real gateway, real Postgres, real engine (tiny model).
describe('usage costs (PRICES_FILE)', () => {
  let app: InferenceApp;
  let sql: Client;
  const model = 'tiny-llama';
  const price = { input: 0.1, cached_input: 0.025, output: 0.4 };
  const dir = mkdtempSync(join(tmpdir(), 'usage-costs-'));
  const pricesFile = join(dir, 'prices.json');
  writeFileSync(
    pricesFile,
    JSON.stringify({ currency: 'USD', models: { [model]: price }, lanes: { batch: 0.5 } }),
  );

  beforeAll(async () => {
    app = await startInferenceApp('usage-costs', { RATE_LIMIT: '100000/minute', PRICES_FILE: pricesFile });
    sql = new Client({ connectionString: app.db.url });
    await sql.connect();
  }, 120_000);
  afterAll(async () => {
    await sql?.end();
    await app?.close();
  });

  const usage = async (query: string) => {
    const res = await app.request('GET', `/v1/usage?${query}`, { apiKey: app.apiKey });
    expect(res.status).toBe(200);
    return res.body;
  };
  type Row = {
    model: string;
    lane: string;
    prompt_tokens: number;
    cached_tokens: number;
    completion_tokens: number;
    requests: number;
    cost: number | null;
  };
  const expectedCost = (r: Row) =>
    (((r.prompt_tokens - r.cached_tokens) * price.input +
      r.cached_tokens * price.cached_input +
      r.completion_tokens * price.output) /
      1e6) *
    (r.lane === 'batch' ? 0.5 : 1);

  it('every row is priced by model and lane; coarser groupings sum the same cost', async () => {
    const chat = (extra: object) =>
      app.request('POST', '/v1/chat/completions', {
        apiKey: app.apiKey,
        body: { model, messages: [{ role: 'user', content: 'Price me' }], max_tokens: 5, ...extra },
      });
    for (const extra of [{}, {}, { service_tier: 'flex' }]) expect((await chat(extra)).status).toBe(200);
    const embed = await app.request('POST', '/v1/embeddings', {
      apiKey: app.apiKey,
      body: { model, input: 'x' },
    });
    expect(embed.status).toBe(200);
    // Metering writes in batches: wait for the four requests in the rollups.
    const deadline = Date.now() + 10_000;
    while ((await usage('group_by=day')).totals.requests < 4 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));

    const fine = await usage('group_by=model,lane');
    expect(fine).toMatchObject({ currency: 'USD', unpriced_models: [] });
    expect(fine.data.map((r: Row) => [r.model, r.lane])).toEqual([
      [model, 'batch'],
      [model, 'standard'],
    ]);
    for (const r of fine.data as Row[]) {
      expect(r.cost).toBeGreaterThan(0);
      expect(r.cost).toBeCloseTo(expectedCost(r), 12);
    }
    const total = (fine.data as Row[]).reduce((s, r) => s + r.cost!, 0);
    expect(fine.totals.cost).toBeCloseTo(total, 12);
    const byDay = await usage('group_by=day');
    expect(byDay.data).toHaveLength(1);
    expect(byDay.data[0].cost).toBeCloseTo(total, 12);
    expect(byDay.data[0]).toMatchObject({ model: null, lane: null, requests: 4 });
    const byKind = await usage('group_by=kind');
    expect(byKind.data.map((r: { kind: string }) => r.kind)).toEqual(['embedding', 'generation']);
    expect(byKind.totals.cost).toBeCloseTo(total, 12);

    // The CSV carries the cost and the currency, last.
    const csv = await app.request('GET', '/v1/usage?group_by=model,lane&format=csv', { apiKey: app.apiKey });
    const [header, ...lines] = csv.text.trim().split('\r\n');
    const cols = header.split(',');
    expect(cols.slice(-2)).toEqual(['cost', 'currency']);
    expect(lines.map((l: string) => Number(l.split(',')[cols.indexOf('cost')]))).toEqual(
      (fine.data as Row[]).map((r) => r.cost),
    );
    expect(lines.every((l: string) => l.endsWith(',USD'))).toBe(true);

    // Usage of a model without a price: its rows and every sum holding them have no cost.
    const tenant = (await sql.query(`SELECT tenant_id FROM usage_daily LIMIT 1`)).rows[0].tenant_id;
    await sql.query(
      `INSERT INTO usage_daily (day, tenant_id, api_key_id, model, lane, kind, requests, prompt_tokens)
       SELECT (now() AT TIME ZONE 'UTC')::date, $1, api_key_id, 'unpriced-x', 'standard', 'generation', 1, 9
         FROM usage_daily WHERE tenant_id = $1 LIMIT 1`,
      [tenant],
    );
    const withUnpriced = await usage('group_by=model');
    expect(withUnpriced.unpriced_models).toEqual(['unpriced-x']);
    expect(withUnpriced.data.map((r: Row) => [r.model, r.cost === null])).toEqual([
      [model, false],
      ['unpriced-x', true],
    ]);
    expect(withUnpriced.totals.cost).toBeNull();
    expect((await usage('group_by=day')).data[0].cost).toBeNull();
    // Per end user the rollups have no model: no cost.
    expect((await usage('group_by=day,user')).totals.cost).toBeNull();
  });
});
