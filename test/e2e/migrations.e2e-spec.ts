import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createDataSource, runMigrations } from '@app/database';
import { MIGRATIONS } from '../../migrations';
import { createTestDatabase, TestDatabase } from '../helpers/test-database';

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
    expect(all).toEqual(expect.arrayContaining(['tenants', 'api_keys', 'usage_events', 'usage_daily']));
    const tenant = randomUUID();
    const key = randomUUID();
    await ds.query(
      `INSERT INTO usage_daily (day, tenant_id, api_key_id, model, lane, kind, requests, prompt_tokens)
       VALUES ('2026-11-27', $1, $2, 'm', 'standard', 'generation', 3, 30),
              ('2026-11-27', $1, $2, 'm', 'standard', 'embedding', 2, 7)`,
      [tenant, key],
    );
    await ds.undoLastMigration(); // the usage kind: the two kinds become one row
    expect(await ds.query(`SELECT requests::int, prompt_tokens::int FROM usage_daily`)).toEqual([
      { requests: 5, prompt_tokens: 37 },
    ]);
    for (let i = 1; i < MIGRATIONS.length; i++) await ds.undoLastMigration();
    expect(await tables()).toEqual([]);
    await runMigrations(ds);
    expect(await tables()).toEqual(all);
  });
});
