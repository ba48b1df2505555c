import { ConfigValidationError, loadConfig } from '@app/common';
import { createDataSource, resolveDatabase, runMigrations } from '@app/database';
import { localEnv } from '../local-env';

/** llm-inference db migrate: applies pending migrations (DATABASE_URL, or the embedded Postgres). */
export async function dbMigrate(): Promise<string> {
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
    const applied = await runMigrations(dataSource);
    return applied.length ? `applied: ${applied.join(', ')}` : 'no pending migrations';
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    // Leave a running gateway's embedded Postgres alone.
    if (!db.adopted) await db.stop();
  }
}
