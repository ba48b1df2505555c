import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EngineModule } from '@app/engine';
import { startTestApp, TestApp } from '../../helpers';

export const ROOT = join(__dirname, '..', '..', '..');
export const TINY_MODEL = join(ROOT, '.data', 'models', 'tiny-llama');

/** The tiny model fixture (deterministic), generated when missing. */
export function ensureTinyModel(): string {
  if (!existsSync(join(TINY_MODEL, 'config.json'))) {
    const r = spawnSync(
      process.execPath,
      [join(ROOT, 'test', 'fixtures', 'make-tiny-model.mjs'), '--out', TINY_MODEL],
      {
        stdio: 'inherit',
      },
    );
    if (r.status !== 0) throw new Error('make-tiny-model failed');
  }
  return TINY_MODEL;
}

export interface InferenceApp extends TestApp {
  apiKey: string;
  /** Creates another tenant with a key; returns the key. */
  newTenantKey(name: string): Promise<string>;
}

/** The real gateway + real Postgres + the real native engine on the tiny model (CPU, 1 thread). */
export async function startInferenceApp(
  label: string,
  env: Record<string, string> = {},
  engine: { maxNumSeqs?: number; kvCacheBytes?: number } = {},
): Promise<InferenceApp> {
  const modelPath = ensureTinyModel();
  const maxNumSeqs = engine.maxNumSeqs ?? 16;
  const app = await startTestApp({
    label,
    env: { MODEL_PATH: modelPath, MAX_NUM_SEQS: String(maxNumSeqs), ...env },
    imports: [
      EngineModule.forRoot({
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
