import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { mintAdminToken } from '@app/auth';
import { createTestDatabase, TestDatabase } from '../../helpers';
import { ensureModel } from '../support/inference-app';
import { Replica, startReplica } from './replica';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const MODEL = 'tiny-llama';

export interface Http {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

export async function http(
  baseUrl: string,
  method: string,
  path: string,
  opts: { auth?: string; body?: unknown } = {},
): Promise<Http> {
  const headers: Record<string, string> = {};
  if (opts.auth) headers.authorization = `Bearer ${opts.auth}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(baseUrl + path, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** A shared database, an admin secret and data dirs for gateway replica processes. */
export class Cluster {
  readonly secret = randomBytes(32).toString('hex');
  readonly dirs: string[] = [];
  readonly replicas: Replica[] = [];

  private constructor(readonly db: TestDatabase) {}

  static async create(label: string): Promise<Cluster> {
    return new Cluster(await createTestDatabase(label));
  }

  dataDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'llm-replica-'));
    chmodSync(dir, 0o755);
    this.dirs.push(dir);
    return dir;
  }

  async replica(env: Record<string, string> = {}, dataDir = this.dataDir()): Promise<Replica> {
    const r = await startReplica({
      DATABASE_URL: this.db.url,
      REDIS_URL,
      ADMIN_JWT_SECRET: this.secret,
      DATA_DIR: dataDir,
      MODEL_PATH: ensureModel(MODEL),
      MODEL_NAME: MODEL,
      MAX_NUM_SEQS: '32',
      API_KEY_CACHE_TTL_MS: '5000',
      ...env,
    });
    this.replicas.push(r);
    return r;
  }

  adminToken(): string {
    return mintAdminToken({ secret: this.secret, sub: 'quota-test-admin', role: 'admin', ttlSeconds: 3600 });
  }

  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    const c = new Client({ connectionString: this.db.url });
    await c.connect();
    try {
      return (await c.query(sql, params)).rows as T[];
    } finally {
      await c.end();
    }
  }

  /** Another key of a tenant, through the admin API. */
  async newKey(baseUrl: string, tenantId: string) {
    const k = await http(baseUrl, 'POST', `/admin/tenants/${tenantId}/keys`, {
      auth: this.adminToken(),
      body: { name: 'k2' },
    });
    if (k.status !== 201) throw new Error(`create key: ${k.status} ${k.text}`);
    return { keyId: k.body.id as string, key: k.body.key as string };
  }

  /** Creates a tenant and a key through the admin API; returns their ids and the key. */
  async tenantWithKey(baseUrl: string, name: string) {
    const auth = this.adminToken();
    const t = await http(baseUrl, 'POST', '/admin/tenants', { auth, body: { name } });
    if (t.status !== 201) throw new Error(`create tenant: ${t.status} ${t.text}`);
    const k = await http(baseUrl, 'POST', `/admin/tenants/${t.body.id}/keys`, { auth, body: { name: 'k' } });
    if (k.status !== 201) throw new Error(`create key: ${k.status} ${k.text}`);
    return { tenantId: t.body.id as string, keyId: k.body.id as string, key: k.body.key as string };
  }

  async close(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.kill9()));
    await this.db.drop().catch(() => undefined);
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}
