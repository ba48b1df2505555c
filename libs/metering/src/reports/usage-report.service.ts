import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { costOf, PriceList, roundCost } from '../pricing/price-list';
import { PRICE_LIST } from '../pricing/price-list.provider';
import { ROLLUP_SUMS } from '../usage-writer';
import { UsageGroup, UsageQuery } from './usage-query';

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
  /** With PRICES_FILE: what it cost; null when part of it has no price (or per end user). */
  cost?: number | null;
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
  /** With PRICES_FILE: the currency of `cost`, and the models used without a price. */
  currency?: string;
  unpriced_models?: string[];
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

/** What prices depend on: priced reports read the rollups per model and lane too. */
const PRICE_DIMS: readonly UsageGroup[] = ['model', 'lane'];

/** Adds b's counters (and cost, null once either is null) to a. */
function addTo(a: UsageTotalsRow, b: UsageTotalsRow): void {
  for (const k of ROLLUP_SUMS) a[k] += b[k];
  a.total_tokens = a.prompt_tokens + a.completion_tokens;
  if (a.cost !== undefined) a.cost = a.cost === null || b.cost == null ? null : roundCost(a.cost + b.cost);
}

/**
 * Usage reports from the daily rollups (kept when raw events are pruned): per end user, or per
 * key, model, lane and kind. With PRICES_FILE each row has its cost: the rollups are read per model
 * and lane as well (what prices depend on), priced, then summed into the rows asked for.
 */
@Injectable()
export class UsageReportService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(PRICE_LIST) private readonly prices: PriceList | null,
  ) {}

  async report(query: UsageQuery): Promise<UsageReport> {
    const prices = this.prices;
    const perUser = query.groupBy.includes('user');
    const priced = prices !== null && !perUser;
    // The asked groups first, so rows of one asked group come out of Postgres side by side.
    const dims = priced
      ? [...query.groupBy, ...PRICE_DIMS.filter((g) => !query.groupBy.includes(g))]
      : query.groupBy;
    const fine = await this.rows(query, dims);
    const unpriced = new Set<string>();
    if (prices) {
      for (const r of fine) {
        r.cost = priced ? costOf(prices, { ...r, model: r.model!, lane: r.lane! }) : null;
        if (priced && r.cost === null) unpriced.add(r.model!);
      }
    }
    const data = priced ? fold(fine, query.groupBy) : fine;
    const totals: UsageTotalsRow = { ...emptyTotals(), ...(prices ? { cost: perUser ? null : 0 } : {}) };
    for (const r of data) addTo(totals, r);
    return {
      object: 'usage_report',
      tenant_id: query.tenantId ?? null,
      from: query.from,
      to: query.to,
      group_by: query.groupBy,
      data,
      totals,
      ...(prices ? { currency: prices.currency, unpriced_models: [...unpriced].sort() } : {}),
    };
  }

  /** The rollups' sums per tenant and `dims`, ordered by them. */
  private async rows(query: UsageQuery, dims: UsageGroup[]): Promise<UsageReportRow[]> {
    const groups = ['tenant_id::text', ...dims.map((g) => GROUP_COLUMNS[g])];
    const select = [
      'tenant_id::text AS tenant_id',
      ...dims.map((g) => `${GROUP_COLUMNS[g]} AS ${OUTPUT_NAMES[g]}`),
      ...ROLLUP_SUMS.map((s) => `sum(${s})::text AS ${s}`),
    ];
    const params: unknown[] = [query.from, query.to];
    let where = 'day >= $1::date AND day <= $2::date';
    if (query.tenantId) {
      params.push(query.tenantId);
      where += ` AND tenant_id = $${params.length}`;
    }
    const table = dims.includes('user') ? 'usage_daily_users' : 'usage_daily';
    const sql = `SELECT ${select.join(', ')} FROM ${table} WHERE ${where}
                 GROUP BY ${groups.join(', ')} ORDER BY ${groups.map((_g, i) => i + 1).join(', ')}`;
    const rows: Record<string, string | null>[] = await this.dataSource.query(sql, params);
    return rows.map((r) => {
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
      for (const s of ROLLUP_SUMS) row[s] = Number(r[s] ?? 0);
      row.total_tokens = row.prompt_tokens + row.completion_tokens;
      return row;
    });
  }
}

/** Sums priced rows, ordered by `groupBy` first, into the rows of `groupBy` (model, lane null unless asked). */
function fold(fine: UsageReportRow[], groupBy: UsageGroup[]): UsageReportRow[] {
  const names = ['tenant_id', ...groupBy.map((g) => OUTPUT_NAMES[g])] as (keyof UsageReportRow)[];
  const out: UsageReportRow[] = [];
  for (const r of fine) {
    let row = out[out.length - 1];
    if (!row || names.some((n) => row[n] !== r[n])) {
      row = { ...r, ...emptyTotals(), cost: 0 };
      for (const g of PRICE_DIMS) if (!groupBy.includes(g)) row[OUTPUT_NAMES[g] as 'model' | 'lane'] = null;
      out.push(row);
    }
    addTo(row, r);
  }
  return out;
}
