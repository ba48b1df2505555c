import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Lane } from '@app/common';
import { PiiInputMode, PiiOutputMode, PolicyFields, PromptInjectionMode } from './effective-policy';

interface Row {
  requests_per_minute: number | null;
  tokens_per_minute: number | null;
  user_tokens_per_minute: number | null;
  user_daily_token_budget: string | null;
  user_monthly_token_budget: string | null;
  require_user: boolean | null;
  max_concurrent: number | null;
  daily_token_budget: string | null;
  monthly_token_budget: string | null;
  max_tokens_cap: number | null;
  allowed_lanes: Lane[] | null;
  default_lane: Lane | null;
  allowed_models: string[] | null;
  pii_input: PiiInputMode | null;
  pii_output: PiiOutputMode | null;
  prompt_injection: PromptInjectionMode | null;
  blocked_terms: string[] | null;
  api_key_id: string | null;
}

export interface StoredPolicy {
  fields: PolicyFields;
  updatedAt: Date | null;
}

const num = (v: string | number | null) => (v === null ? null : Number(v));

function toFields(r: Row): PolicyFields {
  return {
    requestsPerMinute: r.requests_per_minute,
    tokensPerMinute: r.tokens_per_minute,
    userTokensPerMinute: r.user_tokens_per_minute,
    userDailyTokenBudget: num(r.user_daily_token_budget),
    userMonthlyTokenBudget: num(r.user_monthly_token_budget),
    requireUser: r.require_user,
    maxConcurrent: r.max_concurrent,
    dailyTokenBudget: num(r.daily_token_budget),
    monthlyTokenBudget: num(r.monthly_token_budget),
    maxTokensCap: r.max_tokens_cap,
    allowedLanes: r.allowed_lanes,
    defaultLane: r.default_lane,
    allowedModels: r.allowed_models,
    piiInput: r.pii_input,
    piiOutput: r.pii_output,
    promptInjection: r.prompt_injection,
    blockedTerms: r.blocked_terms,
  };
}

/** quota_policies rows: the tenant's (api_key_id NULL) and per-key overrides. */
@Injectable()
export class QuotaPolicyRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The tenant row and the key row (empty fields when absent). */
  async load(
    tenantId: string,
    apiKeyId: string | null,
  ): Promise<{ tenant: PolicyFields; key: PolicyFields }> {
    const rows: Row[] = await this.dataSource.query(
      `SELECT * FROM quota_policies WHERE tenant_id = $1 AND (api_key_id IS NULL OR api_key_id = $2)`,
      [tenantId, apiKeyId],
    );
    const tenant = rows.find((r) => r.api_key_id === null);
    const key = rows.find((r) => r.api_key_id !== null);
    return { tenant: tenant ? toFields(tenant) : {}, key: key ? toFields(key) : {} };
  }

  async get(tenantId: string, apiKeyId: string | null): Promise<StoredPolicy> {
    const rows: (Row & { updated_at: Date })[] = await this.dataSource.query(
      `SELECT * FROM quota_policies WHERE tenant_id = $1 AND api_key_id IS NOT DISTINCT FROM $2`,
      [tenantId, apiKeyId],
    );
    return rows[0]
      ? { fields: toFields(rows[0]), updatedAt: rows[0].updated_at }
      : { fields: {}, updatedAt: null };
  }

  /** Replaces the row (every field: absent = NULL = inherit). */
  async put(
    tenantId: string,
    apiKeyId: string | null,
    f: PolicyFields,
    updatedBy: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<void> {
    await manager.query(
      `INSERT INTO quota_policies (tenant_id, api_key_id, requests_per_minute, tokens_per_minute, max_concurrent,
                                   daily_token_budget, monthly_token_budget, max_tokens_cap, allowed_lanes,
                                   default_lane, allowed_models, pii_input, pii_output, prompt_injection,
                                   blocked_terms, user_tokens_per_minute, user_daily_token_budget, require_user,
                                   user_monthly_token_budget, updated_at, updated_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, now(), $20)
       ON CONFLICT (tenant_id, api_key_id) DO UPDATE SET
         requests_per_minute = EXCLUDED.requests_per_minute, tokens_per_minute = EXCLUDED.tokens_per_minute,
         max_concurrent = EXCLUDED.max_concurrent, daily_token_budget = EXCLUDED.daily_token_budget,
         monthly_token_budget = EXCLUDED.monthly_token_budget, max_tokens_cap = EXCLUDED.max_tokens_cap,
         allowed_lanes = EXCLUDED.allowed_lanes, default_lane = EXCLUDED.default_lane,
         allowed_models = EXCLUDED.allowed_models, pii_input = EXCLUDED.pii_input,
         pii_output = EXCLUDED.pii_output, prompt_injection = EXCLUDED.prompt_injection,
         blocked_terms = EXCLUDED.blocked_terms, user_tokens_per_minute = EXCLUDED.user_tokens_per_minute,
         user_daily_token_budget = EXCLUDED.user_daily_token_budget, require_user = EXCLUDED.require_user,
         user_monthly_token_budget = EXCLUDED.user_monthly_token_budget,
         updated_at = now(), updated_by = EXCLUDED.updated_by`,
      [
        tenantId,
        apiKeyId,
        f.requestsPerMinute ?? null,
        f.tokensPerMinute ?? null,
        f.maxConcurrent ?? null,
        f.dailyTokenBudget ?? null,
        f.monthlyTokenBudget ?? null,
        f.maxTokensCap ?? null,
        f.allowedLanes ?? null,
        f.defaultLane ?? null,
        f.allowedModels ?? null,
        f.piiInput ?? null,
        f.piiOutput ?? null,
        f.promptInjection ?? null,
        f.blockedTerms ?? null,
        f.userTokensPerMinute ?? null,
        f.userDailyTokenBudget ?? null,
        f.requireUser ?? null,
        f.userMonthlyTokenBudget ?? null,
        updatedBy,
      ],
    );
  }
}
