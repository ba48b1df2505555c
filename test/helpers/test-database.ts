import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { portAnswers, RunningPostgres, startEmbeddedPostgres } from '@app/database';

/**
 * A fresh, empty Postgres database for one test file, dropped afterwards. Uses the server at
 * 127.0.0.1:5432 when it answers (TEST_DATABASE_ADMIN_URL overrides its URL), otherwise an
 * embedded Postgres per Jest worker under .data/test-postgres/.
 */
export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

const ROOT = resolve(__dirname, '..', '..');
let embedded: Promise<RunningPostgres> | undefined;

async function adminUrl(): Promise<{ url: (db: string) => string; stop?: () => Promise<void> }> {
  const configured = process.env.TEST_DATABASE_ADMIN_URL;
  if (configured) {
    return { url: (db) => Object.assign(new URL(configured), { pathname: `/${db}` }).toString() };
  }
  if (await portAnswers(5432)) {
    return { url: (db) => `postgres://postgres@127.0.0.1:5432/${db}` };
  }
  const worker = process.env.JEST_WORKER_ID ?? '0';
  const dir = join(ROOT, '.data', 'test-postgres', `w${worker}`);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  embedded ??= startEmbeddedPostgres({ dir, database: 'postgres' });
  const pg = await embedded;
  return { url: (db) => pg.urlFor(db), stop: () => pg.stop() };
}

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(label = 'e2e'): Promise<TestDatabase> {
  const server = await adminUrl();
  const name = `llm_test_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withClient(server.url('postgres'), (c) => c.query(`CREATE DATABASE "${name}"`));
  return {
    url: server.url(name),
    name,
    async drop() {
      await withClient(server.url('postgres'), (c) =>
        c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
      );
      if (server.stop) {
        await server.stop();
        embedded = undefined;
      }
    },
  };
}
