import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { environmentWithEnvFile } from '@app/common';

/** Environment plus config/.env, as the server sees it. */
export function localEnv(): Record<string, string | undefined> {
  return environmentWithEnvFile(join(process.cwd(), 'config', '.env'));
}

/** The admin JWT secret: --secret, ADMIN_JWT_SECRET, or DATA_DIR/admin-jwt-secret. */
export function resolveSecret(explicit?: string): string {
  if (explicit) return explicit;
  const env = localEnv();
  if (env.ADMIN_JWT_SECRET) return env.ADMIN_JWT_SECRET;
  const file = join(resolve(env.DATA_DIR || '.data'), 'admin-jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  throw new Error(
    `no admin JWT secret: set ADMIN_JWT_SECRET, pass --secret, or start the server once (it writes ${file})`,
  );
}

export function defaultServerUrl(): string {
  const env = localEnv();
  return env.LLM_INFERENCE_URL || `http://127.0.0.1:${env.PORT || '8000'}`;
}
