import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ROLLUP_SUMS } from '../usage-writer';
import { UsageQuery } from './usage-query';

export interface UsageTotalsRow {
  requests: number;
  completed: number;
  aborted: number;
  errored: number;
  rejected: number;
  prompt_tokens: number;
  cached_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface UsageReportRow extends UsageTotalsRow {
  tenant_id: string;
  day: string | null;
  model: string | null;
  api_key_id: string | null;
  lane: string | null;
  /** The end user (OpenAI's `user`) when grouped by user. */
  end_user: string | null;
  /** `generation` or `embedding` when grouped by kind. */
  kind: string | null;
}

export interface UsageReport {
  object: 'usage_report';
  tenant_id: string | null;
  from: string;
  to: string;
  group_by: string[];
  data: UsageReportRow[];
  totals: UsageTotalsRow;
}

const GROUP_COLUMNS: Record<string, string> = {
  day: `to_char(day, 'YYYY-MM-DD')`,
  model: 'model',
  key: 'api_key_id::text',
  lane: 'lane',
  user: 'end_user',
  kind: 'kind',
};
const OUTPUT_NAMES: Record<string, keyof UsageReportRow> = {
  day: 'day',
  model: 'model',
  key: 'api_key_id',
  lane: 'lane',
  user: 'end_user',
  kind: 'kind',
};

function emptyTotals(): UsageTotalsRow {
  return {
    requests: 0,
    completed: 0,
    aborted: 0,
    errored: 0,
    rejected: 0,
    prompt_tokens: 0,
    cached_tokens: 0,
    completion_tokens: 0,
    total_tokens: 0,
  };
}

/** Usage reports from the daily rollups (kept when raw events are pruned): per end user, or per key, model, lane and kind. */
@Injectable()
export class UsageReportService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async report(query: UsageQuery): Promise<UsageReport> {
    const groups = ['tenant_id::text', ...query.groupBy.map((g) => GROUP_COLUMNS[g])];
    const select = [
      'tenant_id::text AS tenant_id',
      ...query.groupBy.map((g) => `${GROUP_COLUMNS[g]} AS ${OUTPUT_NAMES[g]}`),
      ...ROLLUP_SUMS.map((s) => `sum(${s})::text AS ${s}`),
    ];
    const params: unknown[] = [query.from, query.to];
    let where = 'day >= $1::date AND day <= $2::date';
    if (query.tenantId) {
      params.push(query.tenantId);
      where += ` AND tenant_id = $${params.length}`;
    }
    const table = query.groupBy.includes('user') ? 'usage_daily_users' : 'usage_daily';
    const sql = `SELECT ${select.join(', ')} FROM ${table} WHERE ${where}
                 GROUP BY ${groups.join(', ')} ORDER BY ${groups.map((_g, i) => i + 1).join(', ')}`;
    const rows: Record<string, string | null>[] = await this.dataSource.query(sql, params);
    const totals = emptyTotals();
    const data = rows.map((r) => {
      const row: UsageReportRow = {
        tenant_id: r.tenant_id!,
        day: r.day ?? null,
        model: r.model ?? null,
        api_key_id: r.api_key_id ?? null,
        lane: r.lane ?? null,
        end_user: r.end_user ?? null,
        kind: r.kind ?? null,
        ...emptyTotals(),
      };
      for (const s of ROLLUP_SUMS) {
        row[s] = Number(r[s] ?? 0);
        totals[s] += row[s];
      }
      row.total_tokens = row.prompt_tokens + row.completion_tokens;
      return row;
    });
    totals.total_tokens = totals.prompt_tokens + totals.completion_tokens;
    return {
      object: 'usage_report',
      tenant_id: query.tenantId ?? null,
      from: query.from,
      to: query.to,
      group_by: query.groupBy,
      data,
      totals,
    };
  }
}
