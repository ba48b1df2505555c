import Redis from 'ioredis';

export const REDIS_CLIENT = Symbol('QUOTAS_REDIS_CLIENT');

/** ioredis client for the quota counters: fails fast (no offline queue) so requests get a 503. */
export function createRedisClient(url: string): Redis {
  return new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 2_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
}
