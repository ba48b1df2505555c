import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { createTestDatabase } from '../helpers';
import { ensureModel } from './support/inference-app';

const ROOT = resolve(__dirname, '..', '..');
const MAIN = join(ROOT, 'dist', 'apps', 'gateway', 'src', 'main.js');
const ALIASES = join(ROOT, 'scripts', 'lib', 'aliases.cjs');
const CLI = join(ROOT, 'apps', 'cli', 'bin', 'llm-inference.js');

/** The compiled server, as `npm start` runs it (scripts/test-all.mjs builds dist/ first). */
function serverEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn', ...extra };
  for (const name of ['DATABASE_URL', 'ADMIN_JWT_SECRET', 'MODEL_PATH', 'MODEL_NAME']) {
    if (!(name in extra)) delete env[name];
  }
  return env;
}

/** An admin JWT from the CLI (`admin token`), signed with the secret that `env` leads it to. */
function adminToken(env: Record<string, string>): string {
  return spawnSync(
    process.execPath,
    [CLI, 'admin', 'token', '--sub', 'admin', '--role', 'admin', '--ttl', '1h'],
    {
      cwd: ROOT,
      env: serverEnv(env),
      encoding: 'utf8',
    },
  ).stdout.trim();
}

const describeBuilt = existsSync(MAIN) ? describe : describe.skip;

describeBuilt('server process (dist)', () => {
  it('exits 1 with a clear message naming a bad variable', () => {
    const run = spawnSync(process.execPath, ['-r', ALIASES, MAIN], {
      cwd: ROOT,
      env: serverEnv({ PORT: 'eighty', GPU_MEMORY_UTILIZATION: '7', QUANTIZATION: 'int3' }),
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('PORT must be an integer between 0 and 65535 (got "eighty")');
    expect(run.stderr).toContain('GPU_MEMORY_UTILIZATION must be a number between 0.05 and 1');
    expect(run.stderr).toContain('QUANTIZATION must be one of none, int8, int8-bf16, int4');
    expect(run.stderr).toContain('config/.env.example');
  });

  it('exits 1 naming the MODELS_FILE entry that is wrong, before starting a database', () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-models-file-'));
    const file = join(dir, 'models.json');
    const start = (models: unknown) => {
      writeFileSync(file, JSON.stringify(models));
      return spawnSync(process.execPath, ['-r', ALIASES, MAIN], {
        cwd: ROOT,
        env: serverEnv({ MODELS_FILE: file, DATA_DIR: dir, MODEL_PATH: ensureModel('tiny-llama') }),
        encoding: 'utf8',
        timeout: 30_000,
      });
    };
    try {
      const badAlias = start({ aliases: { chat: { targets: { 'no-such-model': 1 } } } });
      expect(badAlias.status).toBe(1);
      expect(badAlias.stderr).toContain(
        "MODELS_FILE: aliases.chat.targets: 'no-such-model' is not a served model",
      );
      const badPath = start({ models: [{ id: 'second', path: 'missing-dir' }] });
      expect(badPath.status).toBe(1);
      expect(badPath.stderr).toContain(
        `MODELS_FILE: models[0].path: ${join(dir, 'missing-dir')} does not exist`,
      );
      // Nothing was started: no embedded database directory was made.
      expect(existsSync(join(dir, 'postgres'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with no configuration: embedded Postgres, generated secret, /health within 60 s, clean SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'llm-start-'));
    chmodSync(dataDir, 0o755);
    const child = spawn(process.execPath, ['-r', ALIASES, MAIN], {
      cwd: ROOT,
      env: serverEnv({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.resume();
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const started = Date.now();
      let port: number | undefined;
      while (!port && Date.now() - started < 60_000) {
        port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)?.[1]) || undefined;
        if (!port) await new Promise((r) => setTimeout(r, 100));
      }
      expect(port).toBeDefined();
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(60_000);
      expect(stderr).toContain('npx llm-inference admin token --sub admin --role admin --ttl 1h');
      expect(readFileSync(join(dataDir, 'admin-jwt-secret'), 'utf8').trim().length).toBeGreaterThanOrEqual(
        32,
      );
      expect(existsSync(join(dataDir, 'postgres', 'data', 'PG_VERSION'))).toBe(true);

      // The printed command mints a token the server accepts.
      const token = adminToken({ DATA_DIR: dataDir });
      const tenants = await fetch(`http://127.0.0.1:${port}/admin/tenants`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(tenants.status).toBe(200);

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      // The embedded Postgres was stopped with the server.
      expect(existsSync(join(dataDir, 'postgres', 'data', 'postmaster.pid'))).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
      const pid = join(dataDir, 'postgres', 'data', 'postmaster.pid');
      if (existsSync(pid)) {
        try {
          process.kill(Number(readFileSync(pid, 'utf8').split('\n')[0]), 'SIGQUIT');
        } catch {
          // already gone
        }
      }
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('SIGHUP reloads MODELS_FILE aliases (audited); a bad file is logged and the routes in force stay', async () => {
    const db = await createTestDatabase('sighup');
    const dir = mkdtempSync(join(tmpdir(), 'llm-sighup-'));
    const file = join(dir, 'models.json');
    const write = (target: string) =>
      writeFileSync(file, JSON.stringify({ aliases: { chat: { targets: { [target]: 1 } } } }));
    write('tiny-llama');
    const secret = 'x'.repeat(40);
    const child = spawn(process.execPath, ['-r', ALIASES, MAIN], {
      cwd: ROOT,
      env: serverEnv({
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dir,
        DATABASE_URL: db.url,
        ADMIN_JWT_SECRET: secret,
        MODEL_PATH: ensureModel('tiny-llama'),
        MODEL_NAME: 'tiny-llama',
        MODELS_FILE: file,
        LOG_LEVEL: 'info',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const until = async (what: () => Promise<boolean> | boolean) => {
      for (const started = Date.now(); Date.now() - started < 60_000;) {
        if (await what()) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`timed out; output: ${output.slice(-2000)}`);
    };
    try {
      let port = 0;
      await until(
        () => (port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1]) || 0) > 0,
      );
      const token = adminToken({ ADMIN_JWT_SECRET: secret });
      const admin = async (path: string) =>
        (
          await fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${token}` } })
        ).json();
      const aliasTargets = async () =>
        JSON.stringify(((await admin('/admin/models')) as { aliases: Record<string, unknown> }).aliases.chat);
      const before = await aliasTargets();
      expect(before).toContain('tiny-llama');

      // An alias of a model that is not served: refused, logged, the old routes stay.
      write('no-such-model');
      child.kill('SIGHUP');
      await until(() => output.includes('SIGHUP: MODELS_FILE not reloaded'));
      expect(await aliasTargets()).toBe(before);

      // A second alias: applied, and audited as a reload by the signal.
      writeFileSync(
        file,
        JSON.stringify({
          aliases: { chat: { targets: { 'tiny-llama': 1 } }, fast: { targets: { 'tiny-llama': 1 } } },
        }),
      );
      child.kill('SIGHUP');
      await until(async () => 'fast' in ((await admin('/admin/models')) as { aliases: object }).aliases);
      // Audited once the reload is applied (the audit write follows it).
      await until(async () =>
        ((await admin('/admin/audit?action=models.reload')) as { data: { actor: string }[] }).data.some(
          (a) => a.actor === 'signal:SIGHUP',
        ),
      );
      expect(child.exitCode).toBeNull(); // SIGHUP no longer ends the process

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
      await db.drop();
    }
  }, 120_000);
});
