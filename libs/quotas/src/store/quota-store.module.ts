import { Inject, Logger, Module, OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import { APP_CONFIG, AppConfig } from '@app/common';
import { COUNTER_STORE, CounterStore } from './counter-store';
import { MemoryCounterStore } from './memory-counter-store';
import { createRedisClient, REDIS_CLIENT } from './redis-client';
import { RedisCounterStore } from './redis-counter-store';

const logger = new Logger('QuotaStore');

class RedisCloser implements OnModuleDestroy {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis | null) {}
  async onModuleDestroy() {
    if (!this.redis) return;
    await this.redis.quit().catch(() => this.redis?.disconnect());
  }
}

/** The counter store shared by the throttler storage and QuotaService: Redis when REDIS_URL is set. */
@Module({
  providers: [
    {
      provide: REDIS_CLIENT,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => (config.redisUrl ? createRedisClient(config.redisUrl) : null),
    },
    {
      provide: COUNTER_STORE,
      inject: [REDIS_CLIENT],
      useFactory: (redis: Redis | null): CounterStore => {
        if (redis) {
          logger.log('quota counters in Redis (shared by replicas)');
          return new RedisCounterStore(redis);
        }
        logger.log('quota counters in memory (set REDIS_URL to share limits between replicas)');
        return new MemoryCounterStore();
      },
    },
    RedisCloser,
  ],
  exports: [COUNTER_STORE, REDIS_CLIENT],
})
export class QuotaStoreModule {}
