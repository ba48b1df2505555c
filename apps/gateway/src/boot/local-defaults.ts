import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AppConfig } from '@app/common';

export const SECRET_FILE = 'admin-jwt-secret';

/** ADMIN_JWT_SECRET when set; else DATA_DIR/admin-jwt-secret, generated on first start. */
export function ensureAdminSecret(config: AppConfig): { secret: string; file?: string; generated: boolean } {
  if (config.adminJwtSecret) return { secret: config.adminJwtSecret, generated: false };
  const dir = resolve(config.dataDir);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, SECRET_FILE);
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim();
    if (secret.length >= 32) return { secret, file, generated: false };
  }
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  return { secret, file, generated: true };
}

/**
 * MODEL_PATH when set; else DATA_DIR/models/tiny-llama, generated with the repository's
 * deterministic fixture generator when it is missing (and the generator exists).
 */
export function ensureDefaultModel(
  config: AppConfig,
  log: (m: string) => void,
  root = process.cwd(),
): string | undefined {
  if (config.modelPath) return config.modelPath;
  const target = join(resolve(config.dataDir), 'models', 'tiny-llama');
  if (existsSync(join(target, 'config.json'))) return target;
  const generator = join(root, 'test', 'fixtures', 'make-tiny-model.mjs');
  if (!existsSync(generator)) {
    log(`no MODEL_PATH and no fixture generator at ${generator}; serving without a model directory`);
    return undefined;
  }
  log(`no MODEL_PATH: generating the tiny test model into ${target}`);
  execFileSync(process.execPath, [generator, '--out', target], { stdio: 'inherit', cwd: root });
  return target;
}
