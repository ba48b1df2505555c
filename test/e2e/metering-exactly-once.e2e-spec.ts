import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Replica } from './metering-support/replica';
import { openStream, chat, promptTokens } from './metering-support/chat';
import { Cluster, http, MODEL } from './metering-support/cluster';
import { TcpProxy } from './metering-support/tcp-proxy';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Seen {
  /** Completed requests: id -> the usage object the client received. */
  completed: Map<string, { prompt: number; completion: number }>;
  /** Streams the client aborted after their first chunk. */
  aborted: Set<string>;
  /** When each of them was aborted (Date.now()). */
  abortedAt: Map<string, number>;
  /** Non-200 answers, by status (network errors: 0). */
  failures: Record<number, number>;
  failed: number;
}

/** Polls a replica's journal until it holds a marker of `id` with completion tokens (false after 10 s). */
async function waitForMarker(journalDir: string, id: string): Promise<boolean> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    for (const f of readdirSync(journalDir)) {
      let text: string;
      try {
        text = readFileSync(join(journalDir, f), 'utf8');
      } catch {
        continue; // renamed or deleted meanwhile
      }
      for (const line of text.split('\n'))
        if (
          line.includes(`"requestId":"${id}"`) &&
          line.includes('"open":true') &&
          !line.includes('"completionTokens":0,')
        )
          return true;
    }
    await sleep(10);
  }
  return false;
}

const newSeen = (): Seen => ({
  completed: new Map(),
  aborted: new Set(),
  abortedAt: new Map(),
  failures: {},
  failed: 0,
});

/**
 * A stream the client left just before a kill -9 may still be running at the gateway (the
 * disconnect not yet settled into its final event): its event then comes from the request's
 * journal marker (status `error`), or is lost when the request was younger than
 * MARKER_MIN_AGE_MS. Moves those out of `seen.aborted` and returns them.
 */
function abortsInFlightAt(seen: Seen, killedAt: number, windowMs = 300): string[] {
  const ids: string[] = [];
  for (const [id, at] of seen.abortedAt)
    if (killedAt - at < windowMs) {
      seen.aborted.delete(id);
      ids.push(id);
    }
  return ids;
}

/**
 * Drives the real POST /v1/chat/completions of a replica with `concurrency` clients until stop():
 * all but one send small completions (max_tokens 1..8, stopping at EOS or the limit); one opens
 * long streams and disconnects after the first chunk (an aborted request, billed for what ran).
 */
function load(replica: () => Replica, key: string, concurrency: number) {
  const seen = newSeen();
  let running = true;
  let n = 0;
  const fail = (status: number) => {
    seen.failed += 1;
    seen.failures[status] = (seen.failures[status] ?? 0) + 1;
  };
  const completer = async () => {
    while (running) {
      n += 1;
      try {
        const r = await chat(replica().baseUrl, key, {
          content: `hello ${n}`,
          maxTokens: 1 + (n % 8),
          exact: false,
        });
        if (r.status === 200)
          seen.completed.set(r.body.id, {
            prompt: r.body.usage.prompt_tokens,
            completion: r.body.usage.completion_tokens,
          });
        else fail(r.status);
      } catch {
        fail(0);
        await sleep(20);
      }
    }
  };
  const aborter = async () => {
    while (running) {
      try {
        const s = await openStream(replica().baseUrl, key, { maxTokens: 1500 });
        if (s.status === 200) {
          s.abort();
          seen.aborted.add(s.id);
          seen.abortedAt.set(s.id, Date.now());
        } else fail(s.status);
      } catch {
        fail(0);
      }
      await sleep(50);
    }
  };
  const workers = [aborter(), ...Array.from({ length: concurrency - 1 }, completer)];
  return {
    seen,
    async stop() {
      running = false;
      await Promise.all(workers);
      return seen;
    },
  };
}

/**
 * Nothing lost, nothing doubled, through the real POST /v1/chat/completions (native engine, tiny
 * model): real gateway replica processes, real Postgres (reached through a TCP proxy the test cuts
 * for 10 s) and kill -9 of a replica with unflushed events. Afterwards the stored events are
 * exactly the requests the clients saw completed or aborted (plus at most the requests cut off by
 * the kill), usage_daily equals the sum of the events, and the reports (JSON and CSV) add up to
 * the usage the clients received.
 */
describe('metering exactly-once (real Postgres, real processes, real engine)', () => {
  jest.setTimeout(180_000);
  let cluster: Cluster;
  let proxy: TcpProxy;
  let direct: Replica;
  const totals = newSeen();
  /** Requests cut off by the kill -9 (no answer): each may or may not have an event. */
  let cutOff = 0;
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

  interface EventRow {
    request_id: string;
    status: string;
    prompt_tokens: number;
    completion_tokens: number;
  }

  async function eventsOf(tenantId: string) {
    return cluster.query<EventRow>(
      'SELECT request_id, status, prompt_tokens, completion_tokens FROM usage_events WHERE tenant_id = $1',
      [tenantId],
    );
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
    for (const [id, u] of seen.completed) totals.completed.set(id, u);
    for (const id of seen.aborted) totals.aborted.add(id);
  }

  const expected = () => totals.completed.size + totals.aborted.size;

  /** Every request the clients saw has exactly its event: completed ones with the usage they received. */
  function expectEventsMatch(rows: EventRow[], seen: Seen) {
    const byId = new Map(rows.map((r) => [r.request_id, r]));
    expect(byId.size).toBe(rows.length); // no duplicates
    for (const [id, u] of seen.completed)
      expect({ id, ...byId.get(id) }).toEqual({
        id,
        request_id: id,
        status: 'completed',
        prompt_tokens: u.prompt,
        completion_tokens: u.completion,
      });
    for (const id of seen.aborted) {
      const row = byId.get(id);
      expect({ id, status: row?.status }).toEqual({ id, status: 'aborted' });
      expect(row!.completion_tokens).toBeLessThan(1500);
    }
  }

  it('Postgres unreachable for 10 s under load: no client errors, events journaled, replayed, none lost or doubled', async () => {
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
    const okBeforeCut = run.seen.completed.size;
    await sleep(4_000);
    const journal = readdirSync(join(dataDir, 'metering-journal'));
    await sleep(6_000);
    proxy.restore();
    await sleep(3_000);
    const seen = await run.stop();
    add(seen);
    // Requests kept completing while the database was cut (key, policy caches; Redis counters),
    // with no error at all (the key cache entries expired during the cut: served stale), and
    // their events went to the journal.
    expect(seen.failures).toEqual({});
    expect(seen.completed.size).toBeGreaterThan(okBeforeCut + 20);
    expect(seen.aborted.size).toBeGreaterThan(3);
    expect(journal.some((f) => f.endsWith('.closed.jsonl'))).toBe(true);

    const rows = await waitForEvents(tenant.tenantId, expected());
    expect(rows).toHaveLength(expected());
    expectEventsMatch(rows, seen);
    expect(await viaProxy.stop()).toBe(0);
    process.stdout.write(
      `db-outage: ${seen.completed.size} completed (${okBeforeCut} before the cut), ${seen.aborted.size} aborted, ${seen.failed} failed, ${rows.length} events\n`,
    );
  });

  it('kill -9 of a replica with unflushed events: the journal is replayed at the next start', async () => {
    const dataDir = cluster.dataDir();
    // Flush only every 30 s, so everything recorded before the kill exists only in the journal.
    const env = { METERING_FLUSH_INTERVAL_MS: '30000', METERING_BATCH_SIZE: '10000' };
    const victim = await cluster.replica(env, dataDir);
    const before = (await eventsOf(tenant.tenantId)).length;
    const run = load(() => victim, tenant.key, 6);
    await sleep(2_500);
    // A long stream (4 choices) still running at the kill, old enough to have a journal marker
    // with some completion tokens (the kill waits for it): billed from that marker.
    const prompt = await promptTokens(victim.baseUrl, tenant.key, 'Hi');
    const long = await openStream(victim.baseUrl, tenant.key, { maxTokens: 1900, n: 4 });
    expect(long.status).toBe(200);
    expect(await waitForMarker(join(dataDir, 'metering-journal'), long.id)).toBe(true);
    const killedAt = Date.now();
    await victim.kill9();
    const seen = await run.stop();
    const abortsInFlight = abortsInFlightAt(seen, killedAt);
    add(seen);
    cutOff = seen.failed + abortsInFlight.length + 1; // + the long stream
    expect(seen.completed.size).toBeGreaterThan(20);
    expect((await eventsOf(tenant.tenantId)).length).toBe(before); // nothing reached Postgres yet

    const successor = await cluster.replica({}, dataDir);
    const rows = await waitForEvents(tenant.tenantId, expected() + 1);
    expectEventsMatch(rows, totals);
    // The long stream: its prompt and the tokens generated up to its last marker (>= its first chunk).
    const longRow = rows.find((r) => r.request_id === long.id);
    expect(longRow).toMatchObject({ status: 'error', prompt_tokens: prompt });
    expect(longRow!.completion_tokens).toBeGreaterThan(0);
    expect(longRow!.completion_tokens).toBeLessThan(4 * 1900);
    // Streams left just before the kill: their final event, their marker, or (younger than the
    // marker age) nothing.
    const statusOf = new Map(rows.map((r) => [r.request_id, r.status]));
    for (const id of abortsInFlight)
      expect([id, [undefined, 'aborted', 'error'].includes(statusOf.get(id))]).toEqual([id, true]);
    // Requests cut off by the kill never answered; at most those may have an event the client never saw.
    expect(rows.length - expected()).toBeGreaterThanOrEqual(0);
    expect(rows.length - expected()).toBeLessThanOrEqual(cutOff);
    await successor.stop();
    process.stdout.write(
      `kill-9: ${seen.completed.size} completed and ${seen.aborted.size} aborted before the kill, ${seen.failed} cut off, ${abortsInFlight.length} aborted within 300 ms of it, ${rows.length} events after replay (${rows.filter((r) => r.status === 'error').length} from markers)\n`,
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
    expect(Number(events.n) - expected()).toBeLessThanOrEqual(cutOff);
  });

  it('reports add up to the usage the clients received, in JSON and CSV', async () => {
    // What the clients received (completed requests' usage objects) plus what they did not see a
    // usage object for: aborted streams and requests cut off by the kill (known by id).
    let prompt = 0;
    let completion = 0;
    for (const u of totals.completed.values()) {
      prompt += u.prompt;
      completion += u.completion;
    }
    const unseen = (await eventsOf(tenant.tenantId)).filter((r) => !totals.completed.has(r.request_id));
    expect(unseen.length - totals.aborted.size).toBeLessThanOrEqual(cutOff);
    for (const r of unseen) {
      prompt += r.prompt_tokens;
      completion += r.completion_tokens;
    }
    const requests = totals.completed.size + unseen.length;

    const replica = await cluster.replica();
    const today = new Date().toISOString().slice(0, 10);
    const q = `from=${today}&to=${today}&group_by=day,model,key,lane`;
    const json = await http(replica.baseUrl, 'GET', `/v1/usage?${q}`, { auth: tenant.key });
    expect(json.status).toBe(200);
    expect(json.body.totals).toMatchObject({
      prompt_tokens: prompt,
      completion_tokens: completion,
      requests,
    });
    expect(json.body.data).toHaveLength(1);
    expect(json.body.data[0]).toMatchObject({
      tenant_id: tenant.tenantId,
      day: today,
      model: MODEL,
      api_key_id: tenant.keyId,
      lane: 'standard',
    });

    const csv = await http(replica.baseUrl, 'GET', `/v1/usage?${q}&format=csv`, { auth: tenant.key });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const [header, ...lines] = csv.text.trim().split('\r\n');
    expect(header).toBe(
      'tenant_id,day,model,api_key_id,lane,requests,completed,aborted,errored,rejected,prompt_tokens,cached_tokens,completion_tokens,total_tokens,end_user,kind,cost,currency',
    );
    const cols = header.split(',');
    const sum = (name: string) => lines.reduce((s, l) => s + Number(l.split(',')[cols.indexOf(name)]), 0);
    expect(sum('requests')).toBe(requests);
    expect(sum('completed')).toBeGreaterThanOrEqual(totals.completed.size);
    expect(sum('aborted')).toBeGreaterThanOrEqual(totals.aborted.size);
    expect(sum('prompt_tokens')).toBe(prompt);
    expect(sum('completion_tokens')).toBe(completion);
    expect(sum('total_tokens')).toBe(prompt + completion);

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
