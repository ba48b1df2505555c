import { Controller, Get, Query, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ApiKeyGuard, CurrentKey } from '@app/auth';
import type { VerifiedKey } from '@app/tenants';
import { usageReportCsv } from './reports/usage-csv';
import { parseUsageQuery } from './reports/usage-query';
import { UsageReport, UsageReportService } from './reports/usage-report.service';

interface HeaderReply {
  header(name: string, value: string): unknown;
}

/** Sends a report as JSON or CSV (text/csv with a header row). */
export function sendUsageReport(
  report: UsageReport,
  format: 'json' | 'csv',
  reply: HeaderReply,
): UsageReport | string {
  if (format === 'json') return report;
  reply.header('content-type', 'text/csv; charset=utf-8');
  reply.header('content-disposition', `attachment; filename="usage-${report.from}-${report.to}.csv"`);
  return usageReportCsv(report);
}

/** The caller's own tenant usage: GET /v1/usage?from&to&group_by&format. */
@ApiTags('usage')
@ApiBearerAuth()
@Controller('v1/usage')
@UseGuards(ApiKeyGuard)
export class UsageController {
  constructor(private readonly reports: UsageReportService) {}

  @Get()
  async usage(
    @CurrentKey() key: VerifiedKey,
    @Query() q: Record<string, unknown>,
    @Res({ passthrough: true }) reply: HeaderReply,
  ) {
    const query = parseUsageQuery(q, { allowTenant: false });
    query.tenantId = key.tenantId;
    return sendUsageReport(await this.reports.report(query), query.format, reply);
  }
}
