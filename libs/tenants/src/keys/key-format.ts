import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API keys look like `sk-<prefix>-<secret>`: the prefix (12 lowercase base-36 characters)
 * is the public lookup id; the secret is 32 random bytes (256 bits) in base64url. Only
 * SHA-256(secret) is stored.
 */
export const KEY_PREFIX_LENGTH = 12;
const SECRET_BYTES = 32;
const KEY_PATTERN = /^sk-([a-z0-9]{12})-([A-Za-z0-9_-]{43})$/;
const PREFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export interface GeneratedKey {
  /** The full key; shown once, never stored. */
  key: string;
  prefix: string;
  secretHash: string;
}

function randomPrefix(): string {
  // Rejection sampling keeps the characters uniform.
  let out = '';
  while (out.length < KEY_PREFIX_LENGTH) {
    for (const byte of randomBytes(KEY_PREFIX_LENGTH * 2)) {
      if (byte < 252 && out.length < KEY_PREFIX_LENGTH) out += PREFIX_ALPHABET[byte % 36];
    }
  }
  return out;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function generateApiKey(): GeneratedKey {
  const prefix = randomPrefix();
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  return { key: `sk-${prefix}-${secret}`, prefix, secretHash: hashSecret(secret) };
}

/** Splits a presented key; null when it is not shaped like one of ours. */
export function parseApiKey(key: unknown): { prefix: string; secret: string } | null {
  if (typeof key !== 'string') return null;
  const match = KEY_PATTERN.exec(key);
  return match ? { prefix: match[1], secret: match[2] } : null;
}

/** Constant-time comparison of the presented secret's hash with the stored hash. */
export function verifySecret(secret: string, storedHash: string): boolean {
  const presented = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  if (stored.length !== presented.length) {
    timingSafeEqual(presented, presented); // same work either way
    return false;
  }
  return timingSafeEqual(presented, stored);
}
