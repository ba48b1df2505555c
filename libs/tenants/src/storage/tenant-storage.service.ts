import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig, ApiError } from '@app/common';

/** How long a tenant's stored total is reused before it is summed again. */
const CACHE_MS = 5_000;

/**
 * The bytes a tenant keeps in Postgres (files, uploaded or written by batches, and stored
 * responses) against TENANT_STORAGE_MAX_BYTES, so one tenant cannot fill the database. Checked
 * before an upload and before a response is stored; the total is summed at most every few seconds
 * per tenant and replica, and what this replica writes meanwhile is added to it (a soft limit:
 * writers at the same moment, or on other replicas, may pass it by their own size).
 */
@Injectable()
export class TenantStorage {
  private readonly limit: number;
  private readonly totals = new Map<string, { bytes: number; at: number }>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.limit = Number(config.raw.TENANT_STORAGE_MAX_BYTES ?? 0);
  }

  /** Bytes the tenant stores (octet lengths: what its files and responses hold). */
  async used(tenantId: string): Promise<number> {
    const cached = this.totals.get(tenantId);
    if (cached && Date.now() - cached.at < CACHE_MS) return cached.bytes;
    const rows: { n: string }[] = await this.dataSource.query(
      `SELECT ((SELECT coalesce(sum(bytes), 0) FROM files WHERE tenant_id = $1)
             + (SELECT coalesce(sum(octet_length(context) + octet_length(response)), 0)
                  FROM responses WHERE tenant_id = $1))::text AS n`,
      [tenantId],
    );
    const bytes = Number(rows[0]?.n ?? 0);
    this.totals.set(tenantId, { bytes, at: Date.now() });
    return bytes;
  }

  /** A 400 `storage_limit_exceeded` (naming `param`) when `adding` more bytes would pass the limit. */
  async assertRoom(tenantId: string, adding: number, param: string): Promise<void> {
    if (this.limit <= 0) return;
    const used = await this.used(tenantId);
    // An upload must fit; a response to store needs the tenant under its limit (its size comes later).
    if (adding > 0 ? used + adding <= this.limit : used < this.limit) return;
    throw ApiError.badRequest(
      `This organization stores ${used} bytes of files and responses; its limit is ${this.limit} bytes (TENANT_STORAGE_MAX_BYTES). Delete files or responses${param === 'store' ? ", or send 'store': false" : ''}.`,
      param,
      'storage_limit_exceeded',
    );
  }

  /** This replica stored `bytes` more for the tenant: counted into its total, not summed again. */
  added(tenantId: string, bytes: number): void {
    const cached = this.totals.get(tenantId);
    if (cached) cached.bytes += bytes;
  }

  /** This replica deleted some of the tenant's bytes: the next check sums them again. */
  removed(tenantId: string): void {
    this.totals.delete(tenantId);
  }
}
