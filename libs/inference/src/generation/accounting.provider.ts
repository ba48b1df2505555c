import { Injectable, Provider } from '@nestjs/common';
import { MeteringService } from '@app/metering';
import { QuotaService } from '@app/quotas';
import { Accounting, ACCOUNTING, Caller, UsageRecord } from './accounting';

/** The request path's accounting: QuotaService (lanes, reservations) and MeteringService (usage events). */
@Injectable()
export class QuotaAccounting implements Accounting {
  constructor(
    private readonly quotas: QuotaService,
    private readonly metering: MeteringService,
  ) {}

  async allowedLanes(caller: Caller) {
    const policy = await this.quotas.policyFor(caller.tenantId, caller.apiKeyId);
    return { allowed: policy.allowedLanes, defaultLane: policy.defaultLane };
  }

  reserve(ctx: Parameters<Accounting['reserve']>[0]) {
    return this.quotas.reserve(ctx);
  }

  record(event: UsageRecord): void {
    this.metering.record(event);
  }
}

export const accountingProvider: Provider = { provide: ACCOUNTING, useClass: QuotaAccounting };
