import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePromText, PromSample, sampleSum } from '@app/observability';
import { LaneScheduler } from '@app/inference';
import { ROOT } from './support/inference-app';
import { InferenceApp, startInferenceApp } from './support/inference-app';

// /metrics of the real gateway (real Postgres, real native engine on the tiny model, CPU) after
// real traffic: the gateway, engine, lane, quota, metering and tenant series exist and move.
describe('GET /metrics after traffic (tiny model)', () => {
  let app: InferenceApp;
  let tenantId: string;
  let apiKey: string;
  const model = 'tiny-llama';
  const messages = [{ role: 'user', content: 'Hello metrics' }];

  async function scrape(): Promise<PromSample[]> {
    const res = await app.request('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parsePromText(res.text);
  }

  const chat = (body: object = {}) =>
    app.request('POST', '/v1/chat/completions', {
      apiKey,
      body: { model, messages, max_tokens: 8, temperature: 0, ignore_eos: true, ...body },
    });

  beforeAll(async () => {
    // 2 engine slots and 1 queued request per lane: a burst of long requests gets shed.
    // Keys capped at max_tokens 1600: a larger request is a quota rejection.
    app = await startInferenceApp(
      'metrics',
      { LANE_QUEUE_DEPTH: '1', QUOTA_MAX_TOKENS_CAP: '1600', METERING_FLUSH_INTERVAL_MS: '50' },
      { maxNumSeqs: 2 },
    );
    const admin = app.token('admin');
    const t = await app.request('POST', '/admin/tenants', { token: admin, body: { name: 'metrics-tenant' } });
    expect(t.status).toBe(201);
    tenantId = t.body.id;
    const k = await app.request('POST', `/admin/tenants/${tenantId}/keys`, {
      token: admin,
      body: { name: 'k' },
    });
    expect(k.status).toBe(201);
    apiKey = k.body.key;
  }, 180_000);
  afterAll(() => app?.close());

  it('serves the contract before any traffic: engine up, lanes at 0, no GPU series on a CPU host', async () => {
    const s = await scrape();
    expect(sampleSum(s, 'llm_engine_up', { provider: 'native' })).toBe(1);
    expect(sampleSum(s, 'llm_kv_cache_usage_perc', { model_name: model })).toBe(0);
    for (const lane of ['interactive', 'standard', 'batch'])
      expect(sampleSum(s, 'llm_lane_queue_depth', { lane })).toBe(0);
    expect(sampleSum(s, 'llm_metering_journal_bytes')).toBe(0);
    expect(sampleSum(s, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sampleSum(s, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const addon = require('../../native/build/Release/llm_engine.node') as {
      gpuInfo(): { available: boolean; reason: string };
      gpuStats(): unknown[];
    };
    if (!addon.gpuInfo().available) {
      expect(addon.gpuStats()).toEqual([]);
      expect(s.filter((x) => x.name.startsWith('llm_gpu_'))).toEqual([]);
    } else {
      expect(sampleSum(s, 'llm_gpu_memory_total_bytes', { gpu: '0' })).toBeGreaterThan(0);
    }
  });

  it('moves the HTTP, engine, lane, quota, metering and tenant series', async () => {
    const before = await scrape();
    const delta = (after: PromSample[], name: string, match: Record<string, string> = {}) =>
      (sampleSum(after, name, match) ?? 0) - (sampleSum(before, name, match) ?? 0);

    // 3 plain chat completions of 8 tokens each.
    for (let i = 0; i < 3; i++) expect((await chat()).status).toBe(200);

    // 1 long stream (SSE, hijacked reply): in flight from its arrival, counted at its last byte.
    // The test holds both engine slots until the stream waits for one, so that it is surely in
    // flight at the scrape (a loaded machine could otherwise finish it first).
    const scheduler = app.app.get(LaneScheduler);
    const held = await Promise.all(
      [0, 1].map(() => scheduler.acquire({ tenantId: 'test-holder', lane: 'interactive', cost: 1 })),
    );
    const streamed = fetch(`${app.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model,
        messages,
        max_tokens: 1500,
        temperature: 0,
        ignore_eos: true,
        stream: true,
      }),
    });
    const until = Date.now() + 10_000;
    while (Object.values(scheduler.stats().queued).every((n) => n === 0) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 5));
    const during = await scrape();
    for (const h of held) h.release(0);
    expect(
      sampleSum(during, 'llm_http_requests_in_flight', { method: 'POST', route: '/v1/chat/completions' }),
    ).toBe(1);
    const stream = await streamed;
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    let body = '';
    for (let r = await reader.read(); !r.done; r = await reader.read())
      body += Buffer.from(r.value).toString();
    expect(body).toContain('"finish_reason":"length"');
    expect(body).toContain('data: [DONE]');

    // A quota rejection (max_tokens above the cap) and an unmatched route.
    const rejected = await chat({ max_tokens: 1700 });
    expect(rejected.status).toBe(400);
    expect((await app.request('GET', '/no-such-route')).status).toBe(404);

    // Both engine slots held by long streams, then a burst: 1 request queues, the rest are shed.
    const longStream = () =>
      fetch(`${app.baseUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model,
          messages,
          max_tokens: 1500,
          temperature: 0,
          ignore_eos: true,
          stream: true,
        }),
      }).then((r) => r.text());
    // On a loaded machine the holders (a few hundred ms of tiny-model decoding) can end before
    // the burst reaches the lanes; then nothing is shed and the round is repeated (at most 5),
    // every round's requests counted below.
    let holdersRun = 0;
    let admitted = 0;
    let shed = 0;
    for (let round = 0; round < 5 && shed === 0; round++) {
      const holders = [longStream(), longStream()];
      holdersRun += 2;
      for (let i = 0; i < 200; i++) {
        if (sampleSum(await scrape(), 'llm_num_requests_running', { model_name: model }) === 2) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      const burst = await Promise.all(Array.from({ length: 4 }, () => chat()));
      for (const text of await Promise.all(holders)) expect(text).toContain('data: [DONE]');
      const statuses = burst.map((r) => r.status);
      const roundShed = statuses.filter((st) => st === 429 || st === 503).length;
      const roundAdmitted = statuses.filter((st) => st === 200).length;
      expect(roundAdmitted + roundShed).toBe(4);
      shed += roundShed;
      admitted += roundAdmitted;
    }
    expect(shed).toBeGreaterThan(0);

    // Metering flushes every 50 ms: wait until its buffer is empty again.
    let after = await scrape();
    for (let i = 0; i < 100 && (sampleSum(after, 'llm_metering_flush_seconds_count') ?? 0) === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = await scrape();
    }
    await new Promise((r) => setTimeout(r, 300));
    after = await scrape();
    const okChats = 3 + 1 + holdersRun + admitted;
    const generated = 3 * 8 + (1 + holdersRun) * 1500 + admitted * 8;

    // Gateway HTTP series: route templates, never /metrics, 404 as "unmatched".
    expect(
      delta(after, 'llm_http_requests_total', {
        method: 'POST',
        route: '/v1/chat/completions',
        status: '200',
      }),
    ).toBe(okChats);
    expect(delta(after, 'llm_http_requests_total', { route: '/v1/chat/completions', status: '400' })).toBe(1);
    expect(delta(after, 'llm_http_requests_total', { route: 'unmatched', status: '404' })).toBe(1);
    expect(sampleSum(after, 'llm_http_requests_total', { route: '/metrics' })).toBeUndefined();
    expect(
      delta(after, 'llm_http_request_duration_seconds_count', {
        route: '/v1/chat/completions',
        status: '200',
      }),
    ).toBe(okChats);
    expect(sampleSum(after, 'llm_http_requests_in_flight', { route: '/v1/chat/completions' })).toBe(0);

    // Engine series (vLLM names under llm_).
    const m = { model_name: model };
    expect(delta(after, 'llm_generation_tokens_total', m)).toBe(generated);
    expect(delta(after, 'llm_prompt_tokens_total', m)).toBeGreaterThanOrEqual(okChats * 5);
    expect(delta(after, 'llm_request_success_total', { ...m, finished_reason: 'length' })).toBe(okChats);
    for (const h of [
      'llm_time_to_first_token_seconds',
      'llm_e2e_request_latency_seconds',
      'llm_request_queue_time_seconds',
      'llm_request_prefill_time_seconds',
      'llm_request_decode_time_seconds',
    ])
      expect({ h, n: delta(after, `${h}_count`, m) }).toEqual({ h, n: okChats });
    expect(delta(after, 'llm_inter_token_latency_seconds_count', m)).toBe(generated - okChats);
    expect(delta(after, 'llm_time_to_first_token_seconds_sum', m)).toBeGreaterThan(0);
    expect(delta(after, 'llm_iteration_tokens_total_count', m)).toBeGreaterThan(0);
    expect(delta(after, 'llm_iteration_tokens_total_sum', m)).toBeCloseTo(
      delta(after, 'llm_generation_tokens_total', m) +
        delta(after, 'llm_prompt_tokens_total', m) -
        delta(after, 'llm_prefix_cache_hits_total', m),
    );
    expect(delta(after, 'llm_engine_step_seconds_count', m)).toBe(
      delta(after, 'llm_iteration_tokens_total_count', m),
    );
    expect(delta(after, 'llm_prefix_cache_queries_total', m)).toBeGreaterThan(0);
    // Same prompt every time: later requests hit the prefix cache.
    expect(delta(after, 'llm_prefix_cache_hits_total', m)).toBeGreaterThan(0);
    expect(sampleSum(after, 'llm_num_requests_running', m)).toBe(0);
    expect(sampleSum(after, 'llm_num_requests_waiting', m)).toBe(0);

    // Lanes: every request offered, the shed ones by reason, waits observed for the admitted.
    expect(delta(after, 'llm_lane_requests_total', { lane: 'standard' })).toBe(okChats + shed);
    expect(delta(after, 'llm_lane_shed_total', { lane: 'standard', reason: 'queue_full' })).toBe(shed);
    expect(delta(after, 'llm_lane_wait_seconds_count', { lane: 'standard' })).toBe(okChats);
    expect(sampleSum(after, 'llm_lane_queue_depth', { lane: 'standard' })).toBe(0);

    // Quotas.
    expect(delta(after, 'llm_quota_rejections_total', { reason: 'max_tokens' })).toBe(1);

    // Metering: batches written, nothing left behind.
    expect(delta(after, 'llm_metering_flush_seconds_count')).toBeGreaterThan(0);
    expect(delta(after, 'llm_metering_write_failures_total')).toBe(0);
    expect(sampleSum(after, 'llm_metering_buffer_depth')).toBe(0);
    expect(sampleSum(after, 'llm_metering_journal_bytes')).toBe(0);

    // Per-tenant tokens.
    expect(delta(after, 'llm_tenant_tokens_total', { tenant: tenantId, kind: 'generation' })).toBe(generated);
    expect(delta(after, 'llm_tenant_tokens_total', { tenant: tenantId, kind: 'prompt' })).toBeGreaterThan(0);
  }, 180_000);

  it('is not rate limited: 50 scrapes in a row all succeed', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 50 }, () => fetch(`${app.baseUrl}/metrics`).then((r) => r.status)),
    );
    expect(new Set(statuses)).toEqual(new Set([200]));
  });

  it('exports exactly the docs/metrics.md contract: names, types and label names', async () => {
    const doc = readFileSync(join(ROOT, 'docs', 'metrics.md'), 'utf8');
    const contract = new Map<string, { type: string; labels: string[] }>();
    for (const line of doc.split('\n')) {
      const m = /^\| `(llm_[a-z0-9_]+)` \| (counter|gauge|histogram) \| ([^|]*) \|/.exec(line);
      if (m)
        contract.set(m[1], {
          type: m[2],
          labels: [...m[3].matchAll(/`([a-z_]+)`/g)].map((x) => x[1]).sort(),
        });
    }
    expect(contract.size).toBeGreaterThan(30);
    const res = await app.request('GET', '/metrics');
    const types = new Map<string, string>();
    for (const m of res.text.matchAll(/^# TYPE (llm_[a-z0-9_]+) (\w+)$/gm)) types.set(m[1], m[2]);
    // Every family the gateway declares is in the contract with the same type, and vice versa.
    expect(Object.fromEntries(types)).toEqual(
      Object.fromEntries([...contract].map(([name, c]) => [name, c.type])),
    );
    // Every llm_* sample carries exactly the contract's labels (plus le on histogram buckets).
    const family = (name: string) => (contract.has(name) ? name : name.replace(/_(bucket|sum|count)$/, ''));
    for (const sample of parsePromText(res.text).filter((x) => x.name.startsWith('llm_'))) {
      const name = family(sample.name);
      const labels = Object.keys(sample.labels).filter(
        (l) => !(l === 'le' && sample.name.endsWith('_bucket')),
      );
      expect({ name, labels: labels.sort() }).toEqual({ name, labels: contract.get(name)?.labels });
    }
  });
});
