import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, ApiError, AppConfig, Clock, CLOCK } from '@app/common';
import { parseApiKey, verifySecret } from './key-format';

export type KeyFailure = 'malformed' | 'unknown' | 'revoked' | 'expired' | 'tenant_suspended';

export interface VerifiedKey {
  keyId: string;
  tenantId: string;
  tenantName: string;
  prefix: string;
  scopes: string[];
}

export type VerifyResult = { ok: true; key: VerifiedKey } | { ok: false; reason: KeyFailure };

interface KeyRow {
  keyId: string;
  tenantId: string;
  tenantName: string;
  tenantStatus: string;
  secretHash: string;
  scopes: string[];
  expiresAt: number | null;
  revokedAt: number | null;
}

interface CacheEntry {
  row: KeyRow | null;
  fetchedAt: number;
}

const MAX_CACHE_ENTRIES = 10_000;
export const LAST_USED_WRITE_INTERVAL_MS = 60_000;

/**
 * Why a key that exists may not be used at `now` (ms), or null: revoked (a rotated key's revocation
 * may lie ahead: its grace period), expired, or its tenant suspended. The API key guard and the
 * batch runner, which re-checks the key of a running batch, judge keys by this one rule.
 */
export function keyStateFailure(
  key: { revokedAt: number | null; expiresAt: number | null; tenantStatus: string },
  now: number,
): 'revoked' | 'expired' | 'tenant_suspended' | null {
  if (key.revokedAt !== null && key.revokedAt <= now) return 'revoked';
  if (key.expiresAt !== null && key.expiresAt <= now) return 'expired';
  return key.tenantStatus === 'active' ? null : 'tenant_suspended';
}

/**
 * The API-key hot path: parse, look up by prefix (short-TTL cache in front of Postgres,
 * concurrent misses coalesced), constant-time hash comparison, revocation/expiry/tenant
 * checks, and a last_used_at write at most once a minute per key. When the lookup query fails
 * (Postgres unreachable), the last entry fetched within API_KEY_STALE_IF_ERROR_MS is served.
 */
@Injectable()
export class KeyVerifier {
  private readonly logger = new Logger(KeyVerifier.name);
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<KeyRow | null>>();
  private readonly lastUsedWrites = new Map<string, number>();
  private staleWarnedAt = Number.NEGATIVE_INFINITY;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async verify(presented: unknown): Promise<VerifyResult> {
    const parsed = parseApiKey(presented);
    if (!parsed) return { ok: false, reason: 'malformed' };
    const row = await this.lookup(parsed.prefix);
    if (!row || !verifySecret(parsed.secret, row.secretHash)) return { ok: false, reason: 'unknown' };
    const now = this.clock.now();
    const refused = keyStateFailure(row, now);
    if (refused) return { ok: false, reason: refused };
    this.touch(row.keyId, now);
    return {
      ok: true,
      key: {
        keyId: row.keyId,
        tenantId: row.tenantId,
        tenantName: row.tenantName,
        prefix: parsed.prefix,
        scopes: row.scopes,
      },
    };
  }

  /** Drops a key from the cache (after revoke/rotate in this process). */
  invalidatePrefix(prefix: string): void {
    this.cache.delete(prefix);
  }

  /** Drops every cached key of a tenant (after suspend/delete in this process). */
  invalidateTenant(tenantId: string): void {
    for (const [prefix, entry] of this.cache) if (entry.row?.tenantId === tenantId) this.cache.delete(prefix);
  }

  private async lookup(prefix: string): Promise<KeyRow | null> {
    const cached = this.cache.get(prefix);
    const now = this.clock.now();
    if (cached && now - cached.fetchedAt < this.config.apiKeyCacheTtlMs) return cached.row;
    let pending = this.inflight.get(prefix);
    if (!pending) {
      pending = this.fetch(prefix).finally(() => this.inflight.delete(prefix));
      this.inflight.set(prefix, pending);
    }
    let row: KeyRow | null;
    try {
      row = await pending;
    } catch (err) {
      // Database unreachable: serve the last known good entry (revoked/unknown stay so) for a bounded time.
      if (cached && now - cached.fetchedAt < this.config.apiKeyStaleIfErrorMs) {
        if (now - this.staleWarnedAt >= 10_000) {
          this.staleWarnedAt = now;
          this.logger.warn(`API key lookup failed, serving cached entries: ${(err as Error).message}`);
        }
        return cached.row;
      }
      // Not the caller's fault: a 503 the client may retry, never a 500.
      this.logger.error(`API key lookup failed: ${(err as Error).message}`);
      throw ApiError.unavailable(
        'API keys cannot be verified right now (the database is unreachable). Retry shortly.',
        'service_unavailable',
        { 'retry-after': '5' },
      );
    }
    if (this.cache.size >= MAX_CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(prefix, { row, fetchedAt: now });
    return row;
  }

  private async fetch(prefix: string): Promise<KeyRow | null> {
    const rows: {
      key_id: string;
      tenant_id: string;
      tenant_name: string;
      tenant_status: string;
      secret_hash: string;
      scopes: string[];
      expires_at: Date | null;
      revoked_at: Date | null;
    }[] = await this.dataSource.query(
      `SELECT k.id AS key_id, k.tenant_id, t.name AS tenant_name, t.status AS tenant_status,
              k.secret_hash, k.scopes, k.expires_at, k.revoked_at
         FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
        WHERE k.prefix = $1`,
      [prefix],
    );
    const r = rows[0];
    if (!r) return null;
    return {
      keyId: r.key_id,
      tenantId: r.tenant_id,
      tenantName: r.tenant_name,
      tenantStatus: r.tenant_status,
      secretHash: r.secret_hash,
      scopes: r.scopes ?? [],
      expiresAt: r.expires_at ? new Date(r.expires_at).getTime() : null,
      revokedAt: r.revoked_at ? new Date(r.revoked_at).getTime() : null,
    };
  }

  /** last_used_at: at most one write per key per minute (also across replicas, via the WHERE). */
  private touch(keyId: string, now: number): void {
    const last = this.lastUsedWrites.get(keyId);
    if (last !== undefined && now - last < LAST_USED_WRITE_INTERVAL_MS) return;
    this.lastUsedWrites.set(keyId, now);
    if (this.lastUsedWrites.size > MAX_CACHE_ENTRIES) {
      this.lastUsedWrites.delete(this.lastUsedWrites.keys().next().value as string);
    }
    this.dataSource
      .query(
        `UPDATE api_keys SET last_used_at = $2
          WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $2::timestamptz - interval '60 seconds')`,
        [keyId, new Date(now)],
      )
      .catch((err: Error) => this.logger.warn(`last_used_at update failed: ${err.message}`));
  }
}
