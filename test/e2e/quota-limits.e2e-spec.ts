import { Replica } from './metering-support/replica';
import { Cluster, http } from './metering-support/cluster';

/**
 * Quotas with two real gateway replica processes sharing one Postgres database and Redis:
 * admin policies, no budget overspend under 500 concurrent requests, requests/min across
 * replicas, tokens/min, concurrency slots, key overrides, seeding by SET.
 */
describe('quotas across two replicas (real Postgres + Redis)', () => {
  jest.setTimeout(120_000);
  let cluster: Cluster;
  let a: Replica;
  let b: Replica;
  let admin: string;

  beforeAll(async () => {
    cluster = await Cluster.create('quota');
    a = await cluster.replica();
    b = await cluster.replica();
    admin = cluster.adminToken();
  });
  afterAll(() => cluster?.close());

  const probe = (r: Replica, key: string, body: Record<string, unknown>) =>
    http(r.baseUrl, 'POST', '/test/quota-probe', { auth: key, body });

  it('GET/PUT /admin/tenants/:id/quota: defaults, validation, audit, key overrides', async () => {
    const t = await cluster.tenantWithKey(a.baseUrl, 'quota-admin');
    const got = await http(a.baseUrl, 'GET', `/admin/tenants/${t.tenantId}/quota`, { auth: admin });
    expect(got.status).toBe(200);
    expect(got.body.policy.requests_per_minute).toBeNull();
    expect(got.body.effective).toMatchObject({
      requests_per_minute: 600,
      max_concurrent: 64,
      daily_token_budget: null,
      default_lane: 'standard',
    });

    const bad = await http(a.baseUrl, 'PUT', `/admin/tenants/${t.tenantId}/quota`, {
      auth: admin,
      body: { daily_token_budget: -5 },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ param: 'daily_token_budget' });
    const unknown = await http(a.baseUrl, 'PUT', `/admin/tenants/${t.tenantId}/quota`, {
      auth: admin,
      body: { rpm: 5 },
    });
    expect(unknown.status).toBe(400);
    const lanes = await http(a.baseUrl, 'PUT', `/admin/tenants/${t.tenantId}/quota`, {
      auth: admin,
      body: { allowed_lanes: ['batch'], default_lane: 'interactive' },
    });
    expect(lanes.status).toBe(400);

    const put = await http(a.baseUrl, 'PUT', `/admin/tenants/${t.tenantId}/quota`, {
      auth: admin,
      body: {
        requests_per_minute: 100,
        daily_token_budget: 5000,
        allowed_lanes: ['standard', 'batch'],
        max_tokens_cap: 50,
      },
    });
    expect(put.status).toBe(200);
    expect(put.body.effective).toMatchObject({
      requests_per_minute: 100,
      daily_token_budget: 5000,
      allowed_lanes: ['standard', 'batch'],
      max_tokens_cap: 50,
    });
    const keyPut = await http(a.baseUrl, 'PUT', `/admin/tenants/${t.tenantId}/keys/${t.keyId}/quota`, {
      auth: admin,
      body: { daily_token_budget: 300 },
    });
    expect(keyPut.status).toBe(200);
    expect(keyPut.body.effective).toMatchObject({ daily_token_budget: 300, requests_per_minute: 100 });

    const audit = await http(a.baseUrl, 'GET', `/admin/audit?tenant_id=${t.tenantId}&action=quota.update`, {
      auth: admin,
    });
    expect(audit.body.data).toHaveLength(2);

    // The other replica sees the policy (after its cache TTL): lane and max_tokens rules apply.
    await new Promise((r) => setTimeout(r, 5_200));
    const lane = await probe(b, t.key, { lane: 'interactive' });
    expect(lane.status).toBe(403);
    expect(lane.body.error.code).toBe('lane_not_allowed');
    const cap = await probe(b, t.key, { max_tokens: 51 });
    expect(cap.status).toBe(400);
    expect(cap.body.error.param).toBe('max_tokens');
    // The key's own daily budget (300) binds before the tenant's (5000).
    const first = await probe(b, t.key, { prompt_tokens: 150, max_tokens: 50 });
    expect(first.status).toBe(200);
    const second = await probe(a, t.key, { prompt_tokens: 150, max_tokens: 50 });
    expect(second.status).toBe(429);
    expect(second.body.error).toMatchObject({ type: 'insufficient_quota', code: 'insufficient_quota' });
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThan(0);

    const forbidden = await http(a.baseUrl, 'PUT', `/admin/tenants/${t.tenantId}/quota`, {
      auth: 'nope',
      body: {},
    });
    expect(forbidden.status).toBe(401);
  });

  it('no overspend: 500 concurrent requests on two replicas, daily budget for about half', async () => {
    const t = await cluster.tenantWithKey(a.baseUrl, 'budget');
    const perRequest = 100; // prompt 20 + max_tokens 80 reserved
    const budget = 250 * perRequest;
    const put = await http(a.baseUrl, 'PUT', `/admin/tenants/${t.tenantId}/quota`, {
      auth: admin,
      body: {
        daily_token_budget: budget,
        requests_per_minute: 100_000,
        max_concurrent: 1000,
        tokens_per_minute: 100_000_000,
      },
    });
    expect(put.status).toBe(200);
    await new Promise((r) => setTimeout(r, 5_200)); // replica b's policy cache
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        probe(i % 2 ? a : b, t.key, {
          prompt_tokens: 20,
          max_tokens: 80,
          completion_tokens: 40 + (i % 41),
          hold_ms: 20,
        }),
      ),
    );
    const ok = results.filter((r) => r.status === 200);
    const rejected = results.filter((r) => r.status === 429);
    expect(ok.length + rejected.length).toBe(500);
    for (const r of rejected) expect(r.body.error.type).toBe('insufficient_quota');
    const granted = ok.reduce((s, r) => s + r.body.usage.total_tokens, 0);
    // Tokens granted never exceed the budget; refunds of unused max_tokens let more than half through.
    expect(granted).toBeLessThanOrEqual(budget);
    expect(ok.length).toBeGreaterThanOrEqual(250);
    expect(rejected.length).toBeGreaterThan(0);
    process.stdout.write(
      `no-overspend: ${ok.length} granted, ${rejected.length} rejected, ${granted}/${budget} tokens\n`,
    );
  });

  it('requests/min holds across both replicas (throttler with Redis storage)', async () => {
    const t = await cluster.tenantWithKey(a.baseUrl, 'rpm');
    await http(a.baseUrl, 'PUT', `/admin/tenants/${t.tenantId}/quota`, {
      auth: admin,
      body: { requests_per_minute: 30 },
    });
    await new Promise((r) => setTimeout(r, 5_200));
    const results = await Promise.all(Array.from({ length: 80 }, (_, i) => probe(i % 2 ? a : b, t.key, {})));
    const ok = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    expect(ok).toHaveLength(30);
    expect(limited).toHaveLength(50);
    expect(limited[0].body.error).toMatchObject({ type: 'rate_limit_exceeded', code: 'rate_limit_exceeded' });
    expect(Number(limited[0].headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited[0].headers.get('x-ratelimit-limit-requests')).toBe('30');
    expect(limited[0].headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(ok[0].headers.get('x-ratelimit-limit-requests')).toBe('30');
    expect(ok[0].headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+(ms|s|m\d+s)$/);
    expect(ok[0].headers.get('x-ratelimit-limit-tokens')).toBe('1000000');
    // The rejections after authentication are metered as "rejected" usage events.
    await new Promise((r) => setTimeout(r, 2_500));
    const [row] = await cluster.query<{ n: string }>(
      `SELECT count(*) AS n FROM usage_events WHERE tenant_id = $1 AND status = 'rejected'`,
      [t.tenantId],
    );
    expect(Number(row.n)).toBe(50);
  });

  it('tokens/min and concurrency slots (released on success and on error)', async () => {
    const t = await cluster.tenantWithKey(a.baseUrl, 'tpm');
    await http(a.baseUrl, 'PUT', `/admin/tenants/${t.tenantId}/quota`, {
      auth: admin,
      body: { tokens_per_minute: 1000, max_concurrent: 2 },
    });
    await new Promise((r) => setTimeout(r, 5_200));
    const tooBig = await probe(a, t.key, { prompt_tokens: 900, max_tokens: 200 });
    expect(tooBig.status).toBe(429);
    expect(tooBig.body.error.type).toBe('rate_limit_exceeded');
    expect(tooBig.headers.get('x-ratelimit-limit-tokens')).toBe('1000');

    // Two held requests take both slots; a third is refused; after they finish slots are free.
    const held = [probe(a, t.key, { hold_ms: 1500 }), probe(b, t.key, { hold_ms: 1500 })];
    await new Promise((r) => setTimeout(r, 400));
    const third = await probe(b, t.key, {});
    expect(third.status).toBe(429);
    expect(third.body.error.message).toMatch(/concurrent/);
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200]);
    const failing = await probe(a, t.key, { fail: true });
    expect(failing.status).toBe(500);
    const after = await Promise.all([probe(a, t.key, {}), probe(b, t.key, {})]);
    expect(after.map((r) => r.status)).toEqual([200, 200]);
    expect(Number(after[0].headers.get('x-ratelimit-remaining-tokens'))).toBeLessThan(1000);
  });

  it('budget counters are seeded from the rollup by SET, never by adding', async () => {
    const t = await cluster.tenantWithKey(a.baseUrl, 'seed');
    const today = new Date().toISOString().slice(0, 10);
    await cluster.query(
      `INSERT INTO usage_daily (day, tenant_id, api_key_id, model, lane, requests, completed, prompt_tokens, completion_tokens)
       VALUES ($1, $2, $3, 'tiny-llama', 'standard', 9, 9, 500, 400)`,
      [today, t.tenantId, t.keyId],
    );
    await http(a.baseUrl, 'PUT', `/admin/tenants/${t.tenantId}/quota`, {
      auth: admin,
      body: { daily_token_budget: 1000 },
    });
    await new Promise((r) => setTimeout(r, 5_200));
    // Both replicas race to seed; the counter starts at 900 once (not 1800).
    const first = await Promise.all([
      probe(a, t.key, { prompt_tokens: 10, max_tokens: 40 }),
      probe(b, t.key, { prompt_tokens: 10, max_tokens: 40 }),
    ]);
    expect(first.map((r) => r.status).sort()).toEqual([200, 200]);
    const over = await probe(a, t.key, { prompt_tokens: 10, max_tokens: 40 });
    // 900 + 50 + 50 = 1000: the budget is used up exactly.
    expect(over.status).toBe(429);
    expect(over.body.error.type).toBe('insufficient_quota');
  });
});
