import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamicModule } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig, createLogger, InFlightTracker, loadConfig } from '@app/common';
import { mintAdminToken } from '@app/auth';
import { createGatewayApp } from '../../apps/gateway/src/boot/create-app';
import { createTestDatabase, TestDatabase } from './test-database';

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  db: TestDatabase;
  tracker: InFlightTracker;
  /** http://127.0.0.1:<port> of the listening server. */
  baseUrl: string;
  /** Mints an admin JWT with the app's secret. */
  token(role?: 'admin' | 'tenant_admin', tenantId?: string, sub?: string): string;
  /** fetch() against the app; JSON bodies encoded, responses parsed. */
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface RequestOptions {
  token?: string;
  apiKey?: string;
  body?: unknown;
  /** Sent as-is (no JSON encoding). */
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface StartOptions {
  /** Extra environment settings (validated like the real ones). */
  env?: Record<string, string>;
  /** Extra modules composed into the gateway (e.g. the engine). */
  imports?: DynamicModule['imports'];
  /** Database label (for the database name). */
  label?: string;
}

/** Boots the real gateway on a fresh real Postgres database, listening on a free port. */
export async function startTestApp(options: StartOptions = {}): Promise<TestApp> {
  const db = await createTestDatabase(options.label);
  const dataDir = mkdtempSync(join(tmpdir(), 'llm-test-'));
  chmodSync(dataDir, 0o755);
  const config = loadConfig({
    ADMIN_JWT_SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    MODEL_NAME: 'tiny-llama',
    DATA_DIR: dataDir,
    DATABASE_URL: db.url,
    DOCS_ENABLED: 'true',
    ...options.env,
  });
  let gateway;
  try {
    gateway = await createGatewayApp({
      config,
      databaseUrl: db.url,
      logger: createLogger(config.logLevel),
      imports: options.imports,
    });
  } catch (err) {
    await db.drop();
    throw err;
  }
  const { app, tracker } = gateway;
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address();
  const baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const token = (role: 'admin' | 'tenant_admin' = 'admin', tenantId?: string, sub = `test-${role}`) =>
    mintAdminToken({ secret: config.adminJwtSecret!, sub, role, tenantId, ttlSeconds: 600 });

  const request = async (method: string, path: string, opts: RequestOptions = {}): Promise<TestResponse> => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
    let body: string | Buffer | undefined;
    if (opts.rawBody !== undefined) body = opts.rawBody;
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(baseUrl + path, { method, headers, body });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, text, body: parsed };
  };

  let closed = false;
  return {
    app,
    config,
    db,
    tracker,
    baseUrl,
    token,
    request,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Asserts OpenAI's error shape and returns the error object. */
export function expectOpenAIError(res: TestResponse, status: number, code?: string) {
  expect({ status: res.status, body: res.body }).toEqual({
    status,
    body: {
      error: {
        message: expect.any(String),
        type: expect.any(String),
        param: res.body?.error?.param === null ? null : expect.any(String),
        code: code ?? (res.body?.error?.code === null ? null : expect.any(String)),
      },
    },
  });
  return res.body.error as { message: string; type: string; param: string | null; code: string | null };
}
