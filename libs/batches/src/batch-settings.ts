import { AppConfig } from '@app/common';

export interface BatchSettings {
  filesMaxBytes: number;
  /** Days a file is kept after upload (0: until deleted). */
  filesRetentionDays: number;
  maxRequests: number;
  /** Open batches per tenant. */
  maxOpenPerTenant: number;
  maxActive: number;
  concurrency: number;
  pollMs: number;
  leaseMs: number;
  /** How long a stopping replica lets its in-flight lines finish (SHUTDOWN_TIMEOUT_MS). */
  shutdownTimeoutMs: number;
}

export const BATCH_SETTINGS = Symbol('BATCH_SETTINGS');

/** FILES_MAX_BYTES and BATCH_* from the validated configuration. */
export function batchSettingsFrom(config: AppConfig): BatchSettings {
  const int = (name: string) => Number(config.raw[name]);
  return {
    filesMaxBytes: int('FILES_MAX_BYTES'),
    filesRetentionDays: int('FILES_RETENTION_DAYS'),
    maxRequests: int('BATCH_MAX_REQUESTS'),
    maxOpenPerTenant: int('BATCH_MAX_OPEN_PER_TENANT'),
    maxActive: int('BATCH_MAX_ACTIVE'),
    concurrency: int('BATCH_CONCURRENCY'),
    pollMs: int('BATCH_POLL_MS'),
    leaseMs: int('BATCH_LEASE_MS'),
    shutdownTimeoutMs: config.shutdownTimeoutMs,
  };
}
