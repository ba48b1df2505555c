import { ThrottlerStorage } from '@nestjs/throttler';
import { CounterStore, KEY_PREFIX } from '../store/counter-store';

interface ThrottlerStorageRecord {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

/**
 * @nestjs/throttler storage over the counter store (memory or Redis): a fixed window per key,
 * shared by every replica with Redis. Blocked until the window ends (no extra penalty).
 * Times are in seconds, as the throttler expects.
 */
export class CounterThrottlerStorage implements ThrottlerStorage {
  constructor(private readonly store: CounterStore) {}

  async increment(
    key: string,
    ttl: number,
    limit: number,
    _blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const { count, ttlMs } = await this.store.hit(`${KEY_PREFIX}rpm:${throttlerName}:${key}`, ttl);
    const seconds = Math.max(1, Math.ceil(ttlMs / 1000));
    const isBlocked = count > limit;
    return { totalHits: count, timeToExpire: seconds, isBlocked, timeToBlockExpire: isBlocked ? seconds : 0 };
  }
}
