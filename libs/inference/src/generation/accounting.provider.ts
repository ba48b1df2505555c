import { Injectable, Optional, Provider } from '@nestjs/common';
import { MeteringService } from '@app/metering';
import { Metrics, SPAN } from '@app/observability';
import { QuotaService } from '@app/quotas';
import { Access, Accounting, ACCOUNTING, Caller, UsageRecord } from './accounting';

/** The request path's accounting: QuotaService (lanes, reservations) and MeteringService (usage events). */
@Injectable()
export class QuotaAccounting implements Accounting {
  constructor(
    private readonly quotas: QuotaService,
    private readonly metering: MeteringService,
    @Optional() private readonly metrics?: Metrics,
  ) {}

  async access(caller: Caller): Promise<Access> {
    const policy = await this.quotas.policyFor(caller.tenantId, caller.apiKeyId);
    return {
      lanes: policy.allowedLanes,
      defaultLane: policy.defaultLane,
      models: policy.allowedModels,
      requireUser: policy.requireUser,
      guardrails: {
        piiInput: policy.piiInput,
        piiOutput: policy.piiOutput,
        promptInjection: policy.promptInjection,
        blockedTerms: policy.blockedTerms,
      },
    };
  }

  reserve(ctx: Parameters<Accounting['reserve']>[0]) {
    return this.metrics
      ? this.metrics.span(SPAN.quota, () => this.quotas.reserve(ctx))
      : this.quotas.reserve(ctx);
  }

  open(marker: UsageRecord): void {
    this.metering.open(marker);
  }

  record(event: UsageRecord): void {
    const started = Date.now();
    this.metering.record(event);
    this.metrics?.spanDone(SPAN.metering, started, Date.now(), { 'llm.usage_status': event.status });
  }
}

export const accountingProvider: Provider = { provide: ACCOUNTING, useClass: QuotaAccounting };
