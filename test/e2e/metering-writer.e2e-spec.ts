import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { loadConfig } from '@app/common';
import { createDataSource, runMigrations } from '@app/database';
import {
  MARKER_MIN_AGE_MS,
  MeteringService,
  toUsageRecord,
  UsageEventInput,
  UsageEventRecord,
  UsageJournal,
  UsageRetentionService,
  UsageWriter,
} from '@app/metering';
import { createTestDatabase, TestDatabase } from '../helpers';

/** The usage writer, journal and retention on a real Postgres database. */
describe('usage writer, journal, retention (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  const tenantId = randomUUID();
  const keyId = randomUUID();
  const dirs: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('usage_writer');
    ds = createDataSource({ url: db.url });
    await ds.initialize();
    await runMigrations(ds);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const event = (i: number, startedAt = new Date()): UsageEventRecord => ({
    requestId: `w-${i}`,
    tenantId,
    apiKeyId: keyId,
    model: 'tiny-llama',
    lane: i % 2 ? 'batch' : 'interactive',
    promptTokens: 10 + i,
    cachedTokens: i % 3,
    completionTokens: i,
    status: i % 5 === 0 ? 'aborted' : 'completed',
    ttftMs: 3,
    durationMs: 10,
    startedAt: startedAt.toISOString(),
    endedAt: startedAt.toISOString(),
    endUser: i % 4 === 0 ? null : `user-${i % 3}`,
    kind: i % 7 === 6 ? 'embedding' : 'generation',
  });

  /** Per end user: the rollup's sums, and the same sums from the raw events. */
  async function perUser() {
    const sums = 'sum(prompt_tokens)::int AS p, sum(completion_tokens)::int AS c';
    const rollup = await ds.query(
      `SELECT end_user, sum(requests)::int AS n, ${sums} FROM usage_daily_users WHERE tenant_id = $1 GROUP BY 1 ORDER BY 1`,
      [tenantId],
    );
    const raw = await ds.query(
      `SELECT end_user, count(*)::int AS n, ${sums} FROM usage_events WHERE tenant_id = $1 AND end_user IS NOT NULL GROUP BY 1 ORDER BY 1`,
      [tenantId],
    );
    return { rollup, raw };
  }

  async function daily() {
    const [r] = await ds.query(
      'SELECT sum(requests)::int AS n, sum(prompt_tokens)::int AS p, sum(completion_tokens)::int AS c, sum(aborted)::int AS a FROM usage_daily WHERE tenant_id = $1',
      [tenantId],
    );
    return r;
  }

  it('a replayed or overlapping batch inserts and rolls up only new request ids', async () => {
    const writer = new UsageWriter(ds);
    const batch = Array.from({ length: 50 }, (_, i) => event(i));
    expect(await writer.write(batch)).toBe(50);
    const once = await daily();
    expect(await writer.write(batch)).toBe(0);
    expect(await daily()).toEqual(once);
    // Overlap plus a duplicate inside one batch.
    expect(await writer.write([...batch.slice(40), event(50), event(50)])).toBe(1);
    const [events] = await ds.query(
      'SELECT count(*)::int AS n, sum(prompt_tokens)::int AS p, sum(completion_tokens)::int AS c FROM usage_events WHERE tenant_id = $1',
      [tenantId],
    );
    expect(await daily()).toMatchObject(events);
    // The per-user rollup counts the same rows once, requests without a user left out.
    const users = await perUser();
    expect(users.rollup.map((r: { end_user: string }) => r.end_user)).toEqual(['user-0', 'user-1', 'user-2']);
    expect(users.rollup).toEqual(users.raw);
    // Embedding and generation requests are rolled up apart (same key, model, lane and day).
    const byKind = async (table: string, count: string) =>
      ds.query(
        `SELECT kind, lane, ${count}::int AS n, sum(prompt_tokens)::int AS p FROM ${table}
          WHERE tenant_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`,
        [tenantId],
      );
    const rolled = await byKind('usage_daily', 'sum(requests)');
    expect(rolled.map((r: { kind: string }) => r.kind)).toEqual([
      'embedding',
      'embedding',
      'generation',
      'generation',
    ]);
    expect(rolled).toEqual(await byKind('usage_events', 'count(*)'));
  });

  it('an event journaled before end users and kinds were recorded is stored without a user, as generation', async () => {
    const { endUser: _none, kind: _kind, ...old } = event(5006);
    const record = toUsageRecord(old as unknown as UsageEventInput);
    expect(record).toMatchObject({ requestId: 'w-5006', endUser: null, kind: 'generation' });
    expect(await new UsageWriter(ds).write([record as UsageEventRecord])).toBe(1);
    const [row] = await ds.query(`SELECT end_user, kind FROM usage_events WHERE request_id = 'w-5006'`);
    expect(row).toEqual({ end_user: null, kind: 'generation' });
  });

  it('concurrent writers of the same events count each once', async () => {
    const writers = [new UsageWriter(ds), new UsageWriter(ds), new UsageWriter(ds)];
    const batch = Array.from({ length: 200 }, (_, i) => event(1000 + i));
    const inserted = await Promise.all(writers.map((w) => w.write(batch)));
    expect(inserted.reduce((a, b) => a + b, 0)).toBe(200);
  });

  it('MeteringService: journal segments are deleted only after the write; leftovers replay at start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'metering-'));
    dirs.push(dataDir);
    // A crashed process's journal: a segment with a torn last line.
    const journal = new UsageJournal(join(dataDir, 'metering-journal'));
    journal.open();
    for (let i = 0; i < 5; i++) journal.append(event(2000 + i));
    const segment = (await journal.rotate())!;
    appendFileSync(segment.path, '{"requestId":"w-torn","tenan');
    const config = loadConfig({ DATA_DIR: dataDir, METERING_FLUSH_INTERVAL_MS: '60000' });
    const metering = new MeteringService(ds, config);
    metering.start();
    for (let i = 0; i < 7; i++)
      metering.record({ ...event(3000 + i), startedAt: new Date(), endedAt: new Date() } as never);
    metering.record({ requestId: '', tenantId: 'x' } as never); // invalid: dropped with a log, never thrown
    await metering.flush();
    const [r] = await ds.query(
      `SELECT count(*)::int AS n FROM usage_events WHERE request_id ~ '^w-[23][0-9]{3}$'`,
    );
    expect(r.n).toBe(12);
    expect(metering.getStats()).toMatchObject({ invalid: 1, pendingSegments: 0, databaseUp: true });
    await metering.onModuleDestroy();
    expect(
      readdirSync(join(dataDir, 'metering-journal')).filter(
        (f) => !f.includes(String(process.pid)) || f.includes('closed'),
      ),
    ).toEqual([]);
  });

  it("markers: a dead process's unfinished requests are stored once from their markers; finished ones only by their final event", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'metering-'));
    dirs.push(dataDir);
    const rows = async () =>
      (await ds.query(
        `SELECT request_id, status, prompt_tokens, completion_tokens FROM usage_events
          WHERE request_id ~ '^w-4[0-9]{3}$' ORDER BY request_id`,
      )) as { request_id: string; status: string; prompt_tokens: number; completion_tokens: number }[];
    const marker = (i: number) => ({
      ...event(i),
      status: 'error' as const,
      completionTokens: 0,
      open: true as const,
    });
    // A process killed with three requests running: 4001 finished in its second segment, 4000 and
    // 4002 never did (4000's marker was re-appended at the rotation, as MeteringService does).
    const dead = new UsageJournal(join(dataDir, 'metering-journal'));
    dead.open();
    dead.append(marker(4000));
    dead.append(marker(4001));
    await dead.rotate();
    dead.append(marker(4000));
    dead.append(marker(4001));
    dead.append(event(4001));
    dead.append(marker(4002));
    await new Promise((r) => setTimeout(r, 5)); // the next journal is another process run (start time)

    const config = loadConfig({ DATA_DIR: dataDir, METERING_FLUSH_INTERVAL_MS: '60000' });
    const metering = new MeteringService(ds, config);
    metering.start();
    // This process: 4003 admitted and finished, 4004 admitted and still running at shutdown, 4005
    // admitted just now (younger than MARKER_MIN_AGE_MS: no marker yet).
    const now = { startedAt: new Date(), endedAt: new Date() };
    metering.open({ ...marker(4003), ...now } as never);
    const running = { ...marker(4004), ...now };
    metering.open(running as never);
    running.completionTokens = 7; // 7 tokens generated so far: its markers carry them
    await new Promise((r) => setTimeout(r, MARKER_MIN_AGE_MS + 50));
    metering.open({ ...marker(4005), ...now } as never);
    await metering.flush();
    expect((await rows()).map((r) => r.request_id)).toEqual(['w-4000', 'w-4001', 'w-4002']);
    // The flush deleted the segment holding this process's markers: the new one holds them again
    // (what a replay after a kill -9 now would read), and 4005's is not there yet.
    const active = readdirSync(join(dataDir, 'metering-journal')).filter((f) => f.endsWith('.active.jsonl'));
    expect(active).toHaveLength(1);
    const markers = readFileSync(join(dataDir, 'metering-journal', active[0]), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { requestId: string; open?: boolean; completionTokens: number });
    expect(markers.map((m) => [m.requestId, m.open, m.completionTokens]).sort()).toEqual([
      ['w-4003', true, 0],
      ['w-4004', true, 7],
    ]);
    metering.record({ ...event(4003), ...now } as never);
    metering.record({ ...event(4005), ...now } as never);
    await metering.flush();
    await metering.onModuleDestroy();
    expect(await rows()).toEqual([
      { request_id: 'w-4000', status: 'error', prompt_tokens: 4010, completion_tokens: 0 },
      { request_id: 'w-4001', status: 'completed', prompt_tokens: 4011, completion_tokens: 4001 },
      { request_id: 'w-4002', status: 'error', prompt_tokens: 4012, completion_tokens: 0 },
      { request_id: 'w-4003', status: 'completed', prompt_tokens: 4013, completion_tokens: 4003 },
      { request_id: 'w-4004', status: 'error', prompt_tokens: 4014, completion_tokens: 7 },
      { request_id: 'w-4005', status: 'aborted', prompt_tokens: 4015, completion_tokens: 4005 },
    ]);
    expect(metering.getStats()).toMatchObject({ pendingSegments: 0, databaseUp: true });
  });

  it('METERING_MARKER_DELAY_MS=0: every admitted request is in the journal at once, then followed by its tokens', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'metering-'));
    dirs.push(dataDir);
    const journaled = () =>
      readdirSync(join(dataDir, 'metering-journal'))
        .filter((f) => f.endsWith('.active.jsonl'))
        .flatMap((f) =>
          readFileSync(join(dataDir, 'metering-journal', f), 'utf8')
            .trim()
            .split('\n'),
        )
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { requestId: string; open?: boolean; completionTokens: number });
    const config = loadConfig({
      DATA_DIR: dataDir,
      METERING_FLUSH_INTERVAL_MS: '60000',
      METERING_MARKER_DELAY_MS: '0',
    });
    const metering = new MeteringService(ds, config);
    metering.start();
    const now = { startedAt: new Date(), endedAt: new Date() };
    const running = { ...event(4101), status: 'error' as const, completionTokens: 0, ...now };
    metering.open(running as never);
    // Synchronously: a kill -9 right after admission would still bill it.
    expect(journaled().map((m) => [m.requestId, m.open, m.completionTokens])).toEqual([['w-4101', true, 0]]);
    running.completionTokens = 3;
    // The marker timer (every MARKER_MIN_AGE_MS) journals the grown count; a loaded machine may be late.
    for (let waited = 0; journaled().length < 2 && waited < 5000; waited += 20)
      await new Promise((r) => setTimeout(r, 20));
    expect(journaled().map((m) => m.completionTokens)).toEqual([0, 3]);
    metering.record({ ...event(4101), ...now } as never);
    await metering.onModuleDestroy();
    const [row] = await ds.query(
      `SELECT status, completion_tokens FROM usage_events WHERE request_id = 'w-4101'`,
    );
    expect(row).toEqual({ status: 'completed', completion_tokens: 4101 });
  });

  it('retention prunes raw events but keeps the rollups', async () => {
    const old = new Date(Date.now() - 100 * 86_400_000);
    await new UsageWriter(ds).write([event(9000, old), event(9001, old)]);
    const before = await daily();
    const retention = new UsageRetentionService(ds, loadConfig({ USAGE_RETENTION_DAYS: '90' }));
    expect(await retention.prune()).toBe(2);
    expect(await daily()).toEqual(before);
    const [r] = await ds.query(
      `SELECT count(*)::int AS n FROM usage_events WHERE request_id IN ('w-9000', 'w-9001')`,
    );
    expect(r.n).toBe(0);
  });
});
