import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createDataSource, runMigrations } from '@app/database';
import { MIGRATIONS } from '../../migrations';
import { createTestDatabase, TestDatabase } from '../helpers/test-database';
import { runCli } from './support/cli-process';

// Every migration's down() on a real Postgres: all the way down (with rollup rows in place, which
// the usage kind's down merges), then up again: a rollback path that works, not one only written.
describe('migrations down and up again (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('migrations');
    ds = createDataSource({ url: db.url });
    await ds.initialize();
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  const tables = async (): Promise<string[]> =>
    (
      await ds.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'migrations' ORDER BY 1`,
      )
    ).map((r: { table_name: string }) => r.table_name);

  it('undoes every migration in turn and applies them all again', async () => {
    await runMigrations(ds);
    const all = await tables();
    expect(all).toEqual(
      expect.arrayContaining([
        'tenants',
        'api_keys',
        'usage_events',
        'usage_daily',
        'files',
        'batches',
        'batch_results',
        'responses',
      ]),
    );
    const tenant = randomUUID();
    const key = randomUUID();
    await ds.query(
      `INSERT INTO usage_daily (day, tenant_id, api_key_id, model, lane, kind, requests, prompt_tokens)
       VALUES ('2026-11-27', $1, $2, 'm', 'standard', 'generation', 3, 30),
              ('2026-11-27', $1, $2, 'm', 'standard', 'embedding', 2, 7)`,
      [tenant, key],
    );
    await ds.query(
      `INSERT INTO usage_daily_users (day, tenant_id, end_user, kind, requests, prompt_tokens)
       VALUES ('2026-11-27', $1, 'eve', 'generation', 3, 30), ('2026-11-27', $1, 'eve', 'embedding', 2, 7)`,
      [tenant],
    );
    await ds.undoLastMigration(); // stored responses
    expect(await tables()).toEqual(all.filter((t) => t !== 'responses'));
    await ds.undoLastMigration(); // the per-user kind: eve's two kinds become one row
    expect(await ds.query(`SELECT requests::int, prompt_tokens::int FROM usage_daily_users`)).toEqual([
      { requests: 5, prompt_tokens: 37 },
    ]);
    // Up again: the embedding requests among the stored events move to their own row.
    await ds.query(
      `INSERT INTO usage_events (request_id, tenant_id, api_key_id, model, lane, prompt_tokens, cached_tokens,
                                 completion_tokens, status, started_at, ended_at, end_user, kind)
       VALUES ('embd-1', $1, $2, 'm', 'standard', 4, 0, 0, 'completed', '2026-11-27T10:00:00Z',
               '2026-11-27T10:00:01Z', 'eve', 'embedding')`,
      [tenant, key],
    );
    await runMigrations(ds);
    expect(
      await ds.query(`SELECT kind, requests::int, prompt_tokens::int FROM usage_daily_users ORDER BY kind`),
    ).toEqual([
      { kind: 'embedding', requests: 1, prompt_tokens: 4 },
      { kind: 'generation', requests: 4, prompt_tokens: 33 },
    ]);
    await ds.undoLastMigration();
    await ds.undoLastMigration();
    await ds.undoLastMigration(); // files and batches
    expect(await tables()).toEqual(
      all.filter((t) => !['files', 'batches', 'batch_results', 'responses'].includes(t)),
    );
    await ds.undoLastMigration(); // the usage kind: the two kinds become one row
    expect(await ds.query(`SELECT requests::int, prompt_tokens::int FROM usage_daily`)).toEqual([
      { requests: 5, prompt_tokens: 37 },
    ]);
    for (let i = 4; i < MIGRATIONS.length; i++) await ds.undoLastMigration();
    expect(await tables()).toEqual([]);
    await runMigrations(ds);
    expect(await tables()).toEqual(all);
  });

  it('llm-inference db rollback undoes the last migrations and db migrate applies them again', async () => {
    const env = { DATABASE_URL: db.url };
    const names = MIGRATIONS.map((m) => m.name);
    const rollback = await runCli(['db', 'rollback', '--steps', '2'], { env });
    expect({ code: rollback.code, stderr: rollback.stderr }).toEqual({ code: 0, stderr: '' });
    expect(rollback.stdout.trim()).toBe(`reverted: ${names.at(-1)}, ${names.at(-2)}`);
    const migrate = await runCli(['db', 'migrate'], { env });
    expect(migrate.code).toBe(0);
    expect(migrate.stdout.trim()).toBe(`applied: ${names.at(-2)}, ${names.at(-1)}`);
    expect((await runCli(['db', 'migrate'], { env })).stdout.trim()).toBe('no pending migrations');
    const bad = await runCli(['db', 'rollback', '--steps', '0'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--steps must be an integer in \[1, 1000\]/);
  });
});
