import { Replica } from './metering-support/replica';
import { Cluster, http, MODEL } from './metering-support/cluster';
import { chat, openStream, promptTokens } from './metering-support/chat';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A PUT on one replica is seen by the other after its policy cache TTL (5 s). */
const POLICY_CACHE_WAIT_MS = 5_200;

/**
 * Quotas with two real gateway replica processes sharing one Postgres database and Redis, driven
 * through the real POST /v1/chat/completions (native engine, tiny model): admin policies, no
 * budget overspend under 500 concurrent requests, requests/min across replicas (tenant and a
 * key's override), tokens/min, concurrency slots, seeding by SET.
 */
describe('quotas across two replicas (real Postgres + Redis + engine)', () => {
  jest.setTimeout(120_000);
  let cluster: Cluster;
  let a: Replica;
  let b: Replica;
  let admin: string;

  beforeAll(async () => {
    cluster = await Cluster.create('quota');
    [a, b] = await Promise.all([cluster.replica(), cluster.replica()]);
    admin = cluster.adminToken();
  });
  afterAll(() => cluster?.close());

  const putQuota = async (tenantId: string, body: Record<string, unknown>, keyId?: string) => {
    const path = keyId
      ? `/admin/tenants/${tenantId}/keys/${keyId}/quota`
      : `/admin/tenants/${tenantId}/quota`;
    const r = await http(a.baseUrl, 'PUT', path, { auth: admin, body });
    expect(r.status).toBe(200);
    return r;
  };

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

    const put = await putQuota(t.tenantId, {
      requests_per_minute: 100,
      daily_token_budget: 5000,
      allowed_lanes: ['standard', 'batch'],
      max_tokens_cap: 50,
    });
    expect(put.body.effective).toMatchObject({
      requests_per_minute: 100,
      daily_token_budget: 5000,
      allowed_lanes: ['standard', 'batch'],
      max_tokens_cap: 50,
    });
    const keyPut = await putQuota(t.tenantId, { daily_token_budget: 300 }, t.keyId);
    expect(keyPut.body.effective).toMatchObject({ daily_token_budget: 300, requests_per_minute: 100 });

    const audit = await http(a.baseUrl, 'GET', `/admin/audit?tenant_id=${t.tenantId}&action=quota.update`, {
      auth: admin,
    });
    expect(audit.body.data).toHaveLength(2);

    // The other replica sees the policy (after its cache TTL): lane and max_tokens rules apply.
    await sleep(POLICY_CACHE_WAIT_MS);
    const lane = await chat(b.baseUrl, t.key, { maxTokens: 1, serviceTier: 'priority' });
    expect(lane.status).toBe(200);
    expect(lane.body.service_tier).toBe('default'); // interactive is not allowed: served as standard
    const cap = await chat(b.baseUrl, t.key, { maxTokens: 51 });
    expect(cap.status).toBe(400);
    expect(cap.body.error.param).toBe('max_tokens');
    // The key's own daily budget (300) binds before the tenant's (5000): after the request above,
    // one request of prompt + 50 tokens fits, a second does not.
    const used = lane.body.usage.total_tokens as number;
    const content = 'x'.repeat(110);
    const prompt = await promptTokens(a.baseUrl, t.key, content);
    expect(used + (prompt + 50)).toBeLessThanOrEqual(300);
    expect(used + 2 * (prompt + 50)).toBeGreaterThan(300);
    const first = await chat(b.baseUrl, t.key, { content, maxTokens: 50 });
    expect(first.status).toBe(200);
    expect(first.body.usage.total_tokens).toBe(prompt + 50);
    const second = await chat(a.baseUrl, t.key, { content, maxTokens: 50 });
    expect(second.status).toBe(429);
    expect(second.body.error).toMatchObject({ type: 'insufficient_quota', code: 'insufficient_quota' });
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThan(0);

    const forbidden = await http(a.baseUrl, 'PUT', `/admin/tenants/${t.tenantId}/quota`, {
      auth: 'nope',
      body: {},
    });
    expect(forbidden.status).toBe(401);
  });

  it('no overspend: 500 concurrent chat completions on two replicas, daily budget for about half', async () => {
    const t = await cluster.tenantWithKey(a.baseUrl, 'budget');
    const prompt = await promptTokens(a.baseUrl, t.key, 'Hi');
    const sizes = [4, 8, 12]; // max_tokens, generated exactly (ignore_eos)
    const mean = prompt + sizes.reduce((s, x) => s + x, 0) / sizes.length;
    const budget = Math.round(250 * mean);
    await putQuota(t.tenantId, {
      daily_token_budget: budget,
      requests_per_minute: 100_000,
      max_concurrent: 1000,
      tokens_per_minute: 100_000_000,
    });
    await sleep(POLICY_CACHE_WAIT_MS); // replica b's policy cache
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        chat(i % 2 ? a.baseUrl : b.baseUrl, t.key, { maxTokens: sizes[i % sizes.length] }),
      ),
    );
    const ok = results.filter((r) => r.status === 200);
    const rejected = results.filter((r) => r.status === 429);
    expect(ok.length + rejected.length).toBe(500);
    for (const r of rejected) expect(r.body.error.type).toBe('insufficient_quota');
    for (const r of ok) expect(r.body.usage.completion_tokens).toBe(r.body.usage.total_tokens - prompt);
    const granted = ok.reduce((s, r) => s + r.body.usage.total_tokens, 0);
    // Never more than the budget; and since every request charges what it reserved, the budget
    // is used up to within one request (each rejection saw less room left than its size).
    expect(granted).toBeLessThanOrEqual(budget);
    expect(granted).toBeGreaterThan(budget - (prompt + Math.max(...sizes)));
    expect(ok.length).toBeGreaterThan(230);
    expect(rejected.length).toBeGreaterThan(230);
    // Billing agrees: the completed usage events hold exactly the tokens the clients received.
    await sleep(2_500);
    const [row] = await cluster.query<{ n: string; tokens: string }>(
      `SELECT count(*) AS n, sum(prompt_tokens + completion_tokens) AS tokens
         FROM usage_events WHERE tenant_id = $1 AND status = 'completed'`,
      [t.tenantId],
    );
    expect({ n: Number(row.n), tokens: Number(row.tokens) }).toEqual({
      n: ok.length,
      tokens: granted,
    });
    process.stdout.write(
      `no-overspend: ${ok.length} granted, ${rejected.length} rejected, ${granted}/${budget} tokens\n`,
    );
  });

  it('requests/min holds across both replicas (throttler with Redis storage)', async () => {
    const t = await cluster.tenantWithKey(a.baseUrl, 'rpm');
    await putQuota(t.tenantId, { requests_per_minute: 30 });
    await sleep(POLICY_CACHE_WAIT_MS);
    const results = await Promise.all(
      Array.from({ length: 80 }, (_, i) => chat(i % 2 ? a.baseUrl : b.baseUrl, t.key, { maxTokens: 1 })),
    );
    const ok = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    expect(ok).toHaveLength(30);
    expect(limited).toHaveLength(50);
    expect(limited[0].body.error).toMatchObject({ type: 'rate_limit_exceeded', code: 'rate_limit_exceeded' });
    expect(limited[0].body.error.message).toMatch(/of this organization/);
    expect(Number(limited[0].headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited[0].headers.get('x-ratelimit-limit-requests')).toBe('30');
    expect(limited[0].headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(ok[0].headers.get('x-ratelimit-limit-requests')).toBe('30');
    expect(ok[0].headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+(ms|s|m\d+s)$/);
    expect(ok[0].headers.get('x-ratelimit-limit-tokens')).toBe('1000000');
    // The rejections after authentication are metered as "rejected" usage events.
    await sleep(2_500);
    const [row] = await cluster.query<{ n: string }>(
      `SELECT count(*) AS n FROM usage_events WHERE tenant_id = $1 AND status = 'rejected'`,
      [t.tenantId],
    );
    expect(Number(row.n)).toBe(50);
  });

  it("a key's requests/min override holds across replicas; the tenant's other keys are unaffected", async () => {
    const t = await cluster.tenantWithKey(a.baseUrl, 'rpm-key');
    const other = await cluster.newKey(a.baseUrl, t.tenantId);
    await putQuota(t.tenantId, { requests_per_minute: 1000 });
    await putQuota(t.tenantId, { requests_per_minute: 10 }, t.keyId);
    await sleep(POLICY_CACHE_WAIT_MS);
    const [limitedKey, freeKey] = await Promise.all([
      Promise.all(
        Array.from({ length: 25 }, (_, i) => chat(i % 2 ? a.baseUrl : b.baseUrl, t.key, { maxTokens: 1 })),
      ),
      Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          chat(i % 2 ? a.baseUrl : b.baseUrl, other.key, { maxTokens: 1 }),
        ),
      ),
    ]);
    const ok = limitedKey.filter((r) => r.status === 200);
    const limited = limitedKey.filter((r) => r.status === 429);
    expect(ok).toHaveLength(10);
    expect(limited).toHaveLength(15);
    expect(limited[0].body.error).toMatchObject({ type: 'rate_limit_exceeded', code: 'rate_limit_exceeded' });
    expect(limited[0].body.error.message).toMatch(/of this API key: limit 10/);
    expect(limited[0].headers.get('x-ratelimit-limit-requests')).toBe('10');
    expect(limited[0].headers.get('x-ratelimit-remaining-requests')).toBe('0');
    // The tighter window (the key's) is what the headers report.
    for (const r of ok) expect(r.headers.get('x-ratelimit-limit-requests')).toBe('10');
    expect(freeKey.map((r) => r.status)).toEqual(Array(25).fill(200));
    expect(freeKey[0].headers.get('x-ratelimit-limit-requests')).toBe('1000');
    // Every request of both keys counted in the tenant's window (rejected ones too, as OpenAI counts them).
    const next = await chat(a.baseUrl, other.key, { maxTokens: 1 });
    expect(next.status).toBe(200);
    expect(Number(next.headers.get('x-ratelimit-remaining-requests'))).toBe(1000 - 25 - 25 - 1);
  });

  it('tokens/min and concurrency slots (released on success and on client abort)', async () => {
    const tpm = await cluster.tenantWithKey(a.baseUrl, 'tpm');
    const conc = await cluster.tenantWithKey(a.baseUrl, 'conc');
    await putQuota(tpm.tenantId, { tokens_per_minute: 1000 });
    await putQuota(conc.tenantId, { max_concurrent: 2 });
    await sleep(POLICY_CACHE_WAIT_MS);
    const tooBig = await chat(a.baseUrl, tpm.key, { maxTokens: 1000 });
    expect(tooBig.status).toBe(429);
    expect(tooBig.body.error.type).toBe('rate_limit_exceeded');
    expect(tooBig.body.error.message).toMatch(/tokens per minute/);
    expect(tooBig.headers.get('x-ratelimit-limit-tokens')).toBe('1000');
    const fits = await chat(b.baseUrl, tpm.key, { maxTokens: 100 });
    expect(fits.status).toBe(200);
    const used = fits.body.usage.total_tokens as number;
    expect(Number(fits.headers.get('x-ratelimit-remaining-tokens'))).toBe(1000 - used);

    // Two long streams (one per replica) take both slots; a third request is refused; once the
    // clients disconnect, the slots are free again.
    const long = { maxTokens: 1900, n: 16 };
    const held = await Promise.all([
      openStream(a.baseUrl, conc.key, long),
      openStream(b.baseUrl, conc.key, long),
    ]);
    expect(held.map((s) => s.status)).toEqual([200, 200]);
    const third = await chat(b.baseUrl, conc.key, { maxTokens: 1 });
    expect(third.status).toBe(429);
    expect(third.body.error.message).toMatch(/concurrent/);
    for (const s of held) s.abort();
    let after = [third, third];
    for (let i = 0; i < 50 && after.some((r) => r.status !== 200); i++) {
      await sleep(100);
      after = await Promise.all([
        chat(a.baseUrl, conc.key, { maxTokens: 1 }),
        chat(b.baseUrl, conc.key, { maxTokens: 1 }),
      ]);
    }
    expect(after.map((r) => r.status)).toEqual([200, 200]);
    // The aborted streams are billed for the tokens actually generated (status aborted).
    await sleep(2_500);
    const rows = await cluster.query<{ status: string; completion_tokens: number }>(
      'SELECT status, completion_tokens FROM usage_events WHERE request_id = ANY($1)',
      [held.map((s) => s.id)],
    );
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r.status).toBe('aborted');
      expect(r.completion_tokens).toBeLessThan(16 * 1900);
    }
  });

  it("each end user's tokens/min (user_tokens_per_minute) holds across replicas; other users are unaffected", async () => {
    const t = await cluster.tenantWithKey(a.baseUrl, 'user-tpm');
    await putQuota(t.tenantId, { user_tokens_per_minute: 300 });
    await sleep(POLICY_CACHE_WAIT_MS);
    // The counters are per clock minute: start well inside one, so that all three requests share it.
    const leftMs = 60_000 - (Date.now() % 60_000);
    if (leftMs < 20_000) await sleep(leftMs + 200);
    // Each request reserves its prompt + 100 tokens: the third of one user within the minute is
    // refused, on whichever replica it lands (the counter is shared through Redis).
    const alice = [
      await chat(a.baseUrl, t.key, { maxTokens: 100, user: 'alice@example.com' }),
      await chat(b.baseUrl, t.key, { maxTokens: 100, user: 'alice@example.com' }),
    ];
    expect(alice.map((r) => r.status)).toEqual([200, 200]);
    const third = await chat(a.baseUrl, t.key, { maxTokens: 100, user: 'alice@example.com' });
    expect(third.status).toBe(429);
    expect(third.body.error).toMatchObject({ type: 'rate_limit_exceeded', code: 'rate_limit_exceeded' });
    expect(third.body.error.message).toMatch(/tokens per minute \(TPM\) of the end user "alice@example.com"/);
    expect(third.headers.get('retry-after')).toBeTruthy();
    // Another user, and a request that names none, are not held by alice's counter.
    expect((await chat(b.baseUrl, t.key, { maxTokens: 100, user: 'bob' })).status).toBe(200);
    expect((await chat(b.baseUrl, t.key, { maxTokens: 100 })).status).toBe(200);
    const metrics = await http(a.baseUrl, 'GET', '/metrics', {});
    expect(metrics.text).toMatch(/llm_quota_rejections_total\{[^}]*reason="user_tpm"[^}]*\} [1-9]/);

    // Usage per end user (group_by=user): alice's two requests and her refused one, bob's one; the
    // request without a user is in the tenant's totals only.
    const today = new Date().toISOString().slice(0, 10);
    const report = async (q: string) =>
      http(b.baseUrl, 'GET', `/v1/usage?from=${today}&to=${today}&${q}`, { auth: t.key });
    let byUser = await report('group_by=user');
    for (let i = 0; i < 50 && byUser.body.totals?.requests !== 4; i++) {
      await sleep(200); // metering writes in batches
      byUser = await report('group_by=user');
    }
    expect(byUser.status).toBe(200);
    const rows = byUser.body.data as {
      end_user: string;
      requests: number;
      completed: number;
      rejected: number;
    }[];
    expect(rows.map((r) => [r.end_user, r.requests, r.completed, r.rejected])).toEqual([
      ['alice@example.com', 3, 2, 1],
      ['bob', 1, 1, 0],
    ]);
    const all = await report('group_by=day');
    expect(all.body.totals.requests).toBe(5);
    const csv = await report('group_by=day,user&format=csv');
    expect(csv.text.split('\r\n')[0].split(',').slice(-4)).toEqual(['end_user', 'kind', 'cost', 'currency']);
    expect(csv.text).toContain(',alice@example.com,');
    const mixed = await report('group_by=user,model');
    expect(mixed.status).toBe(400);
    expect(mixed.body.error.param).toBe('group_by');
  });

  it("each end user's daily and monthly budgets start from that user's rollup; require_user", async () => {
    const t = await cluster.tenantWithKey(a.baseUrl, 'user-daily');
    const today = new Date().toISOString().slice(0, 10);
    // carol used 900 tokens earlier today (as the per-user rollup has it); dave nothing.
    await cluster.query(
      `INSERT INTO usage_daily_users (day, tenant_id, end_user, requests, completed, prompt_tokens, completion_tokens)
       VALUES ($1, $2, 'carol', 9, 9, 500, 400)`,
      [today, t.tenantId],
    );
    await putQuota(t.tenantId, { user_daily_token_budget: 1000 });
    const strict = await cluster.tenantWithKey(a.baseUrl, 'require-user');
    await putQuota(strict.tenantId, { require_user: true });
    // frank used 900 tokens on the first of this month: his monthly budget starts from them.
    const monthly = await cluster.tenantWithKey(a.baseUrl, 'user-monthly');
    await cluster.query(
      `INSERT INTO usage_daily_users (day, tenant_id, end_user, requests, completed, prompt_tokens, completion_tokens)
       VALUES ($1, $2, 'frank', 9, 9, 500, 400)`,
      [`${today.slice(0, 8)}01`, monthly.tenantId],
    );
    await putQuota(monthly.tenantId, { user_monthly_token_budget: 1000 });
    await sleep(POLICY_CACHE_WAIT_MS);
    const prompt = await promptTokens(a.baseUrl, t.key, 'Hi');
    const maxTokens = 50 - prompt; // each request reserves and uses exactly 50 tokens
    const carol = await Promise.all([
      chat(a.baseUrl, t.key, { maxTokens, user: 'carol' }),
      chat(b.baseUrl, t.key, { maxTokens, user: 'carol' }),
    ]);
    expect(carol.map((r) => r.status)).toEqual([200, 200]);
    // 900 + 50 + 50 = 1000: carol's budget is used up exactly; dave's is untouched.
    const over = await chat(a.baseUrl, t.key, { maxTokens, user: 'carol' });
    expect(over.status).toBe(429);
    expect(over.body.error.type).toBe('insufficient_quota');
    expect(over.body.error.message).toMatch(/daily token budget of the end user "carol": budget 1000/);
    for (let i = 0; i < 3; i++)
      expect((await chat(b.baseUrl, t.key, { maxTokens, user: 'dave' })).status).toBe(200);

    for (const replica of [a, b])
      expect((await chat(replica.baseUrl, monthly.key, { maxTokens, user: 'frank' })).status).toBe(200);
    const frank = await chat(a.baseUrl, monthly.key, { maxTokens, user: 'frank' });
    expect(frank.status).toBe(429);
    expect(frank.body.error.message).toMatch(/monthly token budget of the end user "frank": budget 1000/);

    // require_user: a request that names no end user cannot slip past the per-user limits.
    const anonymous = await chat(a.baseUrl, strict.key, { maxTokens: 1 });
    expect(anonymous.status).toBe(400);
    expect(anonymous.body.error).toMatchObject({ code: 'missing_required_parameter', param: 'user' });
    expect((await chat(a.baseUrl, strict.key, { maxTokens: 1, user: 'erin' })).status).toBe(200);
  });

  it('budget counters are seeded from the rollup by SET, never by adding', async () => {
    const t = await cluster.tenantWithKey(a.baseUrl, 'seed');
    const today = new Date().toISOString().slice(0, 10);
    await cluster.query(
      `INSERT INTO usage_daily (day, tenant_id, api_key_id, model, lane, requests, completed, prompt_tokens, completion_tokens)
       VALUES ($1, $2, $3, $4, 'standard', 9, 9, 500, 400)`,
      [today, t.tenantId, t.keyId, MODEL],
    );
    await putQuota(t.tenantId, { daily_token_budget: 1000 });
    await sleep(POLICY_CACHE_WAIT_MS);
    const prompt = await promptTokens(a.baseUrl, t.key, 'Hi');
    const maxTokens = 50 - prompt; // each request reserves and uses exactly 50 tokens
    // Both replicas race to seed; the counter starts at 900 once (not 1800).
    const first = await Promise.all([
      chat(a.baseUrl, t.key, { maxTokens }),
      chat(b.baseUrl, t.key, { maxTokens }),
    ]);
    expect(first.map((r) => r.status)).toEqual([200, 200]);
    expect(first.map((r) => r.body.usage.total_tokens)).toEqual([50, 50]);
    const over = await chat(a.baseUrl, t.key, { maxTokens });
    // 900 + 50 + 50 = 1000: the budget is used up exactly.
    expect(over.status).toBe(429);
    expect(over.body.error.type).toBe('insufficient_quota');
  });
});
