import { ConfigValidationError, loadConfig } from '@app/common';
import { createDataSource, resolveDatabase, revertMigrations, runMigrations } from '@app/database';
import { DataSource } from 'typeorm';
import { intFlag, ParsedArgs } from '../args';
import { localEnv } from '../local-env';

/** Connects to the configured database (DATABASE_URL, or the embedded Postgres) for `fn`. */
async function withDatabase<T>(fn: (dataSource: DataSource) => Promise<T>): Promise<T> {
  let config;
  try {
    config = loadConfig(localEnv());
  } catch (err) {
    if (err instanceof ConfigValidationError) throw new Error(err.message, { cause: err });
    throw err;
  }
  const db = await resolveDatabase(config, (m) => process.stderr.write(m + '\n'));
  const dataSource = createDataSource({ url: db.url, poolSize: 2 });
  try {
    await dataSource.initialize();
    return await fn(dataSource);
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    // Leave a running gateway's embedded Postgres alone.
    if (!db.adopted) await db.stop();
  }
}

/** llm-inference db migrate: applies pending migrations. */
export async function dbMigrate(): Promise<string> {
  return withDatabase(async (dataSource) => {
    const applied = await runMigrations(dataSource);
    return applied.length ? `applied: ${applied.join(', ')}` : 'no pending migrations';
  });
}

/** llm-inference db rollback [--steps N]: undoes the last N migrations (default 1), e.g. before a downgrade. */
export async function dbRollback(args: ParsedArgs): Promise<string> {
  const steps = intFlag(args, 'steps', 1, 1, 1000);
  return withDatabase(async (dataSource) => {
    const reverted = await revertMigrations(dataSource, steps);
    return reverted.length ? `reverted: ${reverted.join(', ')}` : 'no migrations to revert';
  });
}
