import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** Token totals from the daily rollups (what quotas seed their budget counters with). */
@Injectable()
export class UsageTotals {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** prompt + completion tokens of a tenant (or one key) for days in [fromDay, toDay). */
  async tokensUsed(
    tenantId: string,
    apiKeyId: string | null,
    fromDay: string,
    toDay: string,
  ): Promise<number> {
    const params: unknown[] = [tenantId, fromDay, toDay];
    let sql = `SELECT coalesce(sum(prompt_tokens + completion_tokens), 0)::bigint AS total
                 FROM usage_daily WHERE tenant_id = $1 AND day >= $2::date AND day < $3::date`;
    if (apiKeyId) {
      sql += ' AND api_key_id = $4';
      params.push(apiKeyId);
    }
    const rows: { total: string }[] = await this.dataSource.query(sql, params);
    return Number(rows[0]?.total ?? 0);
  }

  /** prompt + completion tokens of one end user (OpenAI's `user`) of a tenant for days in [fromDay, toDay). */
  async tokensUsedByEndUser(
    tenantId: string,
    endUser: string,
    fromDay: string,
    toDay: string,
  ): Promise<number> {
    const rows: { total: string }[] = await this.dataSource.query(
      `SELECT coalesce(sum(prompt_tokens + completion_tokens), 0)::bigint AS total FROM usage_daily_users
        WHERE tenant_id = $1 AND end_user = $2 AND day >= $3::date AND day < $4::date`,
      [tenantId, endUser, fromDay, toDay],
    );
    return Number(rows[0]?.total ?? 0);
  }
}
