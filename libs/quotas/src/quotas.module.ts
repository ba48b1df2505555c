import { Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { MeteringModule } from '@app/metering';
import { TenantsModule } from '@app/tenants';
import { PolicyResolver } from './policy/policy-resolver';
import { QuotaPolicyRepository } from './policy/quota-policy.repository';
import { QuotaPolicyService } from './policy/quota-policy.service';
import { QuotaService } from './quota.service';
import { COUNTER_STORE, CounterStore } from './store/counter-store';
import { QuotaStoreModule } from './store/quota-store.module';
import { CounterThrottlerStorage } from './throttler/counter-throttler-storage';
import {
  KEY_THROTTLER,
  RequestRateGuard,
  RPM_WINDOW_MS,
  TENANT_THROTTLER,
} from './throttler/request-rate.guard';

/**
 * Quota policies, requests/min (throttler, per-tenant limits), token budgets and concurrency by
 * reservation. Counters in Redis when REDIS_URL is set (shared by replicas), otherwise in memory.
 * The throttler guard is NOT global: routes opt in with @UseGuards(ApiKeyGuard, RequestRateGuard).
 */
@Module({
  imports: [
    MeteringModule,
    TenantsModule,
    QuotaStoreModule,
    ThrottlerModule.forRootAsync({
      imports: [QuotaStoreModule],
      inject: [COUNTER_STORE],
      useFactory: (store: CounterStore) => ({
        // Limits come from each tenant's policy (RequestRateGuard); these are placeholders.
        throttlers: [
          { name: TENANT_THROTTLER, ttl: RPM_WINDOW_MS, limit: 1 },
          { name: KEY_THROTTLER, ttl: RPM_WINDOW_MS, limit: 1 },
        ],
        storage: new CounterThrottlerStorage(store),
      }),
    }),
  ],
  providers: [QuotaPolicyRepository, PolicyResolver, QuotaPolicyService, QuotaService, RequestRateGuard],
  exports: [
    QuotaService,
    QuotaPolicyService,
    PolicyResolver,
    QuotaPolicyRepository,
    RequestRateGuard,
    ThrottlerModule,
    QuotaStoreModule,
    MeteringModule,
  ],
})
export class QuotasModule {}
