import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Replica } from './metering-support/replica';
import { Cluster, http } from './metering-support/cluster';
import { TcpProxy } from './metering-support/tcp-proxy';

interface Seen {
  ids: Set<string>;
  prompt: number;
  completion: number;
  failed: number;
}

/** Drives probe requests at a replica with `concurrency` clients until stop() is called. */
function load(replica: () => Replica, key: string, concurrency: number) {
  const seen: Seen = { ids: new Set(), prompt: 0, completion: 0, failed: 0 };
  let running = true;
  let n = 0;
  const worker = async () => {
    while (running) {
      n += 1;
      const body = {
        prompt_tokens: 5 + (n % 7),
        max_tokens: 16,
        completion_tokens: 1 + (n % 16),
        hold_ms: 5,
      };
      try {
        const r = await http(replica().baseUrl, 'POST', '/test/quota-probe', { auth: key, body });
        if (r.status === 200) {
          seen.ids.add(r.body.id);
          seen.prompt += r.body.usage.prompt_tokens;
          seen.completion += r.body.usage.completion_tokens;
        } else seen.failed += 1;
      } catch {
        seen.failed += 1;
        await new Promise((res) => setTimeout(res, 20));
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  return {
    seen,
    async stop() {
      running = false;
      await Promise.all(workers);
      return seen;
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Nothing lost, nothing doubled: real gateway replica processes, real Postgres (reached through a
 * TCP proxy the test cuts for 10 s) and kill -9 of a replica with unflushed events; afterwards the
 * stored events are exactly the requests the clients saw completed, usage_daily equals the sum of
 * the events, and the reports (JSON and CSV) add up to the usage the clients received.
 */
describe('metering exactly-once (real Postgres, real processes)', () => {
  jest.setTimeout(180_000);
  let cluster: Cluster;
  let proxy: TcpProxy;
  let direct: Replica;
  const totals: Seen = { ids: new Set(), prompt: 0, completion: 0, failed: 0 };
  let tenant: { tenantId: string; keyId: string; key: string };

  beforeAll(async () => {
    cluster = await Cluster.create('metering');
    direct = await cluster.replica();
    tenant = await cluster.tenantWithKey(direct.baseUrl, 'metered');
    const put = await http(direct.baseUrl, 'PUT', `/admin/tenants/${tenant.tenantId}/quota`, {
      auth: cluster.adminToken(),
      body: { requests_per_minute: 1_000_000, max_concurrent: 1000 },
    });
    expect(put.status).toBe(200);
    proxy = new TcpProxy('127.0.0.1', Number(new URL(cluster.db.url).port || 5432));
    await proxy.start();
  });
  afterAll(async () => {
    await proxy?.close();
    await cluster?.close();
  });

  async function eventsOf(tenantId: string) {
    return cluster.query<{
      request_id: string;
      status: string;
      prompt_tokens: number;
      completion_tokens: number;
    }>('SELECT request_id, status, prompt_tokens, completion_tokens FROM usage_events WHERE tenant_id = $1', [
      tenantId,
    ]);
  }

  async function waitForEvents(tenantId: string, count: number, timeoutMs = 30_000) {
    const until = Date.now() + timeoutMs;
    let rows = await eventsOf(tenantId);
    while (rows.length < count && Date.now() < until) {
      await sleep(500);
      rows = await eventsOf(tenantId);
    }
    return rows;
  }

  function add(seen: Seen) {
    for (const id of seen.ids) totals.ids.add(id);
    totals.prompt += seen.prompt;
    totals.completion += seen.completion;
  }

  it('Postgres unreachable for 10 s under load: events are journaled, replayed, none lost or doubled', async () => {
    const url = new URL(cluster.db.url);
    url.host = `127.0.0.1:${proxy.port}`;
    const dataDir = cluster.dataDir();
    const viaProxy = await cluster.replica(
      { DATABASE_URL: url.toString(), DATABASE_POOL_SIZE: '4' },
      dataDir,
    );
    const run = load(() => viaProxy, tenant.key, 6);
    await sleep(2_000);
    proxy.cutOff();
    const okBeforeCut = run.seen.ids.size;
    await sleep(4_000);
    const journal = readdirSync(join(dataDir, 'metering-journal'));
    await sleep(6_000);
    proxy.restore();
    await sleep(3_000);
    const seen = await run.stop();
    add(seen);
    // Requests completed while the database was cut (key/policy caches) went to the journal.
    expect(seen.ids.size).toBeGreaterThan(okBeforeCut);
    expect(journal.some((f) => f.endsWith('.closed.jsonl'))).toBe(true);

    const rows = await waitForEvents(tenant.tenantId, totals.ids.size);
    const ids = rows.map((r) => r.request_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids)).toEqual(totals.ids);
    expect(await viaProxy.stop()).toBe(0);
    process.stdout.write(
      `db-outage: ${seen.ids.size} completed (${okBeforeCut} before the cut), ${seen.failed} failed while cut, ${rows.length} events\n`,
    );
  });

  it('kill -9 of a replica with unflushed events: the journal is replayed at the next start', async () => {
    const dataDir = cluster.dataDir();
    // Flush only every 30 s, so everything recorded before the kill exists only in the journal.
    const env = { METERING_FLUSH_INTERVAL_MS: '30000', METERING_BATCH_SIZE: '10000' };
    const victim = await cluster.replica(env, dataDir);
    const before = (await eventsOf(tenant.tenantId)).length;
    const run = load(() => victim, tenant.key, 6);
    await sleep(3_000);
    await victim.kill9();
    const seen = await run.stop();
    add(seen);
    expect(seen.ids.size).toBeGreaterThan(20);
    expect((await eventsOf(tenant.tenantId)).length).toBe(before); // nothing reached Postgres yet

    const successor = await cluster.replica({}, dataDir);
    const rows = await waitForEvents(tenant.tenantId, totals.ids.size);
    const ids = new Set(rows.map((r) => r.request_id));
    expect(ids.size).toBe(rows.length);
    for (const id of seen.ids) expect(ids.has(id)).toBe(true);
    // Requests cut off by the kill never answered; at most those may have an event the client never saw.
    expect(rows.length - totals.ids.size).toBeLessThanOrEqual(seen.failed);
    for (const id of ids) if (!totals.ids.has(id)) totals.ids.add(id);
    await successor.stop();
    process.stdout.write(
      `kill-9: ${seen.ids.size} completed before the kill, ${seen.failed} cut off, ${rows.length} events after replay\n`,
    );
  });

  it('usage_daily equals the sum of the events', async () => {
    const [events] = await cluster.query<{ n: string; p: string; c: string }>(
      'SELECT count(*) AS n, sum(prompt_tokens) AS p, sum(completion_tokens) AS c FROM usage_events WHERE tenant_id = $1',
      [tenant.tenantId],
    );
    const [daily] = await cluster.query<{ n: string; p: string; c: string }>(
      'SELECT sum(requests) AS n, sum(prompt_tokens) AS p, sum(completion_tokens) AS c FROM usage_daily WHERE tenant_id = $1',
      [tenant.tenantId],
    );
    expect(daily).toEqual(events);
    expect(Number(events.n)).toBe(totals.ids.size);
  });

  it('reports add up to the usage the clients received, in JSON and CSV', async () => {
    const [events] = await cluster.query<{ p: string; c: string }>(
      'SELECT sum(prompt_tokens) AS p, sum(completion_tokens) AS c FROM usage_events WHERE tenant_id = $1',
      [tenant.tenantId],
    );
    // Client-seen sums (plus any event of a request cut off by the kill, counted above by id).
    expect(Number(events.p)).toBeGreaterThanOrEqual(totals.prompt);
    const replica = await cluster.replica();
    const today = new Date().toISOString().slice(0, 10);
    const q = `from=${today}&to=${today}&group_by=day,model,key,lane`;
    const json = await http(replica.baseUrl, 'GET', `/v1/usage?${q}`, { auth: tenant.key });
    expect(json.status).toBe(200);
    expect(json.body.totals).toMatchObject({
      prompt_tokens: Number(events.p),
      completion_tokens: Number(events.c),
      requests: totals.ids.size,
    });
    expect(json.body.data).toHaveLength(1);
    expect(json.body.data[0]).toMatchObject({
      tenant_id: tenant.tenantId,
      day: today,
      model: 'tiny-llama',
      api_key_id: tenant.keyId,
      lane: 'standard',
    });

    const csv = await http(replica.baseUrl, 'GET', `/v1/usage?${q}&format=csv`, { auth: tenant.key });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const [header, ...lines] = csv.text.trim().split('\r\n');
    expect(header).toBe(
      'tenant_id,day,model,api_key_id,lane,requests,completed,aborted,errored,rejected,prompt_tokens,cached_tokens,completion_tokens,total_tokens',
    );
    const cols = header.split(',');
    const sum = (name: string) => lines.reduce((s, l) => s + Number(l.split(',')[cols.indexOf(name)]), 0);
    expect(sum('prompt_tokens')).toBe(Number(events.p));
    expect(sum('completion_tokens')).toBe(Number(events.c));
    expect(sum('total_tokens')).toBe(Number(events.p) + Number(events.c));

    const adminReport = await http(replica.baseUrl, 'GET', `/admin/usage?tenant_id=${tenant.tenantId}&${q}`, {
      auth: cluster.adminToken(),
    });
    expect(adminReport.body.totals).toEqual(json.body.totals);
    const bad = await http(replica.baseUrl, 'GET', '/v1/usage?group_by=week', { auth: tenant.key });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('group_by');
    const badDate = await http(replica.baseUrl, 'GET', '/v1/usage?from=2025-02-30', { auth: tenant.key });
    expect(badDate.status).toBe(400);
    const anon = await http(replica.baseUrl, 'GET', '/v1/usage');
    expect(anon.status).toBe(401);
  });
});
