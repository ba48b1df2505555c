import { randomBytes } from 'node:crypto';

const ID_BYTES = 12;
const POOL_BYTES = ID_BYTES * 512;
let pool = Buffer.alloc(0);
let offset = 0;

/**
 * `<prefix>-<16 base64url chars>` from 96 random bits. The bytes come from a pooled
 * randomBytes() (one call per 512 ids): a synchronous CSPRNG call per request cost ~2 % of the
 * gateway's CPU.
 */
export function newCompletionId(prefix: string): string {
  if (offset + ID_BYTES > pool.length) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + ID_BYTES);
  offset += ID_BYTES;
  return `${prefix}-${id}`;
}
