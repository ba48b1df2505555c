import { join, resolve } from 'node:path';
import { AppConfig } from '@app/common';
import { startEmbeddedPostgres } from './embedded/embedded-postgres';

export interface ResolvedDatabase {
  url: string;
  embedded: boolean;
  /** The embedded server was already running (e.g. the gateway's own, or a leftover). */
  adopted: boolean;
  /** Stops the embedded server (no-op for an external database). */
  stop(): Promise<void>;
}

/** DATABASE_URL when set; otherwise an embedded Postgres under DATA_DIR/postgres. */
export async function resolveDatabase(
  config: AppConfig,
  log: (m: string) => void,
): Promise<ResolvedDatabase> {
  if (config.databaseUrl)
    return { url: config.databaseUrl, embedded: false, adopted: false, stop: async () => undefined };
  const pg = await startEmbeddedPostgres({
    dir: join(resolve(config.dataDir), 'postgres'),
    port: config.embeddedPostgresPort,
    log,
  });
  return { url: pg.url, embedded: true, adopted: pg.adopted, stop: () => pg.stop() };
}
