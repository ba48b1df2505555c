import { ROLLUP_SUMS } from '../usage-writer';
import { UsageReport, UsageReportRow } from './usage-report.service';

/** Stable CSV columns for billing imports (ungrouped dimensions are empty; later ones are appended). */
export const USAGE_CSV_COLUMNS: readonly (keyof UsageReportRow)[] = [
  'tenant_id',
  'day',
  'model',
  'api_key_id',
  'lane',
  ...ROLLUP_SUMS,
  'total_tokens',
  'end_user',
  'kind',
  'cost',
];

/** RFC 4180 quoting; a leading = + - @ is prefixed with ' so spreadsheets do not run it. */
function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The rows as CSV; `cost` (and `currency`, last) are empty without PRICES_FILE. */
export function usageReportCsv(report: UsageReport): string {
  const lines = [[...USAGE_CSV_COLUMNS, 'currency'].join(',')];
  for (const row of report.data)
    lines.push([...USAGE_CSV_COLUMNS.map((c) => cell(row[c])), cell(report.currency)].join(','));
  return lines.join('\r\n') + '\r\n';
}
