import { DataSource } from 'typeorm';

/** Key of the advisory lock that serialises migrations between processes. */
const MIGRATION_LOCK = 724_318_901;

/** Runs `fn` under the migrations' Postgres advisory lock (safe with several replicas). */
async function locked<T>(dataSource: DataSource, fn: () => Promise<T>): Promise<T> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    return await fn();
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
}

/** Runs pending migrations; returns their names. */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  return locked(dataSource, async () => {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  });
}

/** Undoes the last `steps` applied migrations (each in its own transaction); returns their names, newest first. */
export async function revertMigrations(dataSource: DataSource, steps: number): Promise<string[]> {
  return locked(dataSource, async () => {
    const reverted: string[] = [];
    for (let i = 0; i < steps; i++) {
      const [last] = (await dataSource.query(`SELECT name FROM migrations ORDER BY id DESC LIMIT 1`)) as {
        name: string;
      }[];
      if (!last) break;
      await dataSource.undoLastMigration({ transaction: 'each' });
      reverted.push(last.name);
    }
    return reverted;
  });
}
