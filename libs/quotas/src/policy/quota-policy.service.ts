import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ApiError } from '@app/common';
import { Actor, AuditService, TenantsService } from '@app/tenants';
import { applyOverrides, EffectivePolicy, PolicyFields } from './effective-policy';
import { effectivePolicyView, policyFieldsView } from './policy-input';
import { PolicyResolver } from './policy-resolver';
import { QuotaPolicyRepository } from './quota-policy.repository';

export interface PolicyView {
  tenant_id: string;
  api_key_id: string | null;
  /** The stored row (null = inherit). */
  policy: Record<string, unknown>;
  /** What applies (defaults ← tenant ← key). */
  effective: Record<string, unknown>;
  updated_at: string | null;
}

/** Admin operations on quota policies; every change is audited in the same transaction. */
@Injectable()
export class QuotaPolicyService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly repository: QuotaPolicyRepository,
    private readonly resolver: PolicyResolver,
    private readonly tenants: TenantsService,
    private readonly audit: AuditService,
  ) {}

  async get(tenantId: string, apiKeyId: string | null = null): Promise<PolicyView> {
    await this.assertExists(tenantId, apiKeyId);
    const stored = await this.repository.get(tenantId, apiKeyId);
    return {
      ...(await this.view(tenantId, apiKeyId, stored.fields)),
      updated_at: stored.updatedAt?.toISOString() ?? null,
    };
  }

  async put(
    actor: Actor,
    tenantId: string,
    apiKeyId: string | null,
    fields: PolicyFields,
  ): Promise<PolicyView> {
    await this.assertExists(tenantId, apiKeyId);
    const before = await this.repository.get(tenantId, apiKeyId);
    await this.dataSource.transaction(async (m) => {
      await this.repository.put(tenantId, apiKeyId, fields, actor.sub, m);
      await this.audit.record(
        actor,
        {
          action: 'quota.update',
          targetType: apiKeyId ? 'api_key_quota' : 'tenant_quota',
          targetId: apiKeyId ?? tenantId,
          tenantId,
          details: { before: policyFieldsView(before.fields), after: policyFieldsView(fields) },
        },
        m,
      );
    });
    this.resolver.invalidate(tenantId);
    return this.get(tenantId, apiKeyId);
  }

  private async view(tenantId: string, apiKeyId: string | null, fields: PolicyFields) {
    let effective: EffectivePolicy;
    if (apiKeyId) effective = (await this.resolver.resolve(tenantId, apiKeyId)).effective;
    else effective = applyOverrides(this.resolver.defaults, fields);
    return {
      tenant_id: tenantId,
      api_key_id: apiKeyId,
      policy: policyFieldsView(fields),
      effective: effectivePolicyView(effective),
    };
  }

  private async assertExists(tenantId: string, apiKeyId: string | null): Promise<void> {
    await this.tenants.get(tenantId); // 404 when unknown
    if (!apiKeyId) return;
    const rows: unknown[] = await this.dataSource.query(
      'SELECT 1 FROM api_keys WHERE id = $1 AND tenant_id = $2',
      [apiKeyId, tenantId],
    );
    if (rows.length === 0)
      throw ApiError.notFound(`No API key ${apiKeyId} in tenant ${tenantId}.`, 'key_not_found');
  }
}
