import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EngineModule } from '@app/engine';
import { startTestApp, TestApp } from '../../helpers';

export const ROOT = join(__dirname, '..', '..', '..');
export type FixtureModel = 'tiny-llama' | 'mid-llama';

/** A fixture model (deterministic; tiny or mid), generated when missing. */
export function ensureModel(name: FixtureModel = 'tiny-llama'): string {
  const dir = join(ROOT, '.data', 'models', name);
  if (!existsSync(join(dir, 'config.json'))) {
    const size = name === 'mid-llama' ? 'mid' : 'tiny';
    const script = join(ROOT, 'test', 'fixtures', 'make-tiny-model.mjs');
    const r = spawnSync(process.execPath, [script, '--out', dir, '--size', size], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('make-tiny-model failed');
  }
  return dir;
}

export interface InferenceApp extends TestApp {
  apiKey: string;
  /** Creates another tenant with a key; returns the key. */
  newTenantKey(name: string): Promise<string>;
}

/**
 * The real gateway + real Postgres + the real native engine on the tiny model (CPU, 1 thread).
 * `fromConfig`: the engine is built from the environment (MODEL_PATH, QUANTIZATION, ...) as
 * `npm start` builds it, instead of from explicit options.
 */
export async function startInferenceApp(
  label: string,
  env: Record<string, string> = {},
  engine: { maxNumSeqs?: number; kvCacheBytes?: number; model?: FixtureModel; fromConfig?: boolean } = {},
): Promise<InferenceApp> {
  const modelName = engine.model ?? 'tiny-llama';
  const modelPath = ensureModel(modelName);
  const maxNumSeqs = engine.maxNumSeqs ?? 16;
  const app = await startTestApp({
    label,
    env: { MODEL_PATH: modelPath, MODEL_NAME: modelName, MAX_NUM_SEQS: String(maxNumSeqs), ...env },
    imports: [
      engine.fromConfig
        ? EngineModule.fromConfig()
        : EngineModule.forRoot({
            modelPath,
            maxNumSeqs,
            threads: 1,
            device: 'cpu',
            kvCacheBytes: engine.kvCacheBytes,
          }),
    ],
  });
  const newTenantKey = async (name: string): Promise<string> => {
    const admin = app.token('admin');
    const t = await app.request('POST', '/admin/tenants', { token: admin, body: { name } });
    if (t.status !== 201) throw new Error(`tenant create: ${t.status} ${t.text}`);
    const k = await app.request('POST', `/admin/tenants/${t.body.id}/keys`, {
      token: admin,
      body: { name: 'k' },
    });
    if (k.status !== 201) throw new Error(`key create: ${k.status} ${k.text}`);
    return k.body.key as string;
  };
  const apiKey = await newTenantKey(`${label}-main`);
  return Object.assign(app, { apiKey, newTenantKey });
}

/** The usage event metering wrote for a request id (polls: metering writes in batches). */
export async function usageRow(
  app: TestApp,
  requestId: string,
  timeoutMs = 5000,
): Promise<Record<string, unknown>> {
  return pollUsage(app, 'request_id = $1', [requestId], `request ${requestId}`, timeoutMs);
}

/** The newest usage event with `status` that started at or after `since`. */
export async function latestUsageRow(
  app: TestApp,
  status: string,
  since: Date,
  timeoutMs = 5000,
): Promise<Record<string, unknown>> {
  return pollUsage(
    app,
    'status = $1 AND started_at >= $2',
    [status, since],
    `a ${status} request`,
    timeoutMs,
  );
}

async function pollUsage(
  app: TestApp,
  where: string,
  params: unknown[],
  what: string,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: app.db.url });
  await client.connect();
  try {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const r = await client.query(
        `SELECT * FROM usage_events WHERE ${where} ORDER BY started_at DESC LIMIT 1`,
        params,
      );
      if (r.rows.length > 0) return r.rows[0] as Record<string, unknown>;
      if (Date.now() > until) throw new Error(`no usage event for ${what}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  } finally {
    await client.end();
  }
}
