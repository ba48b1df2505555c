import { Controller, Get, Query, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AdminGuard, CurrentAdmin, type AdminPrincipal } from '@app/auth';
import { ApiError } from '@app/common';
import { parseUsageQuery, sendUsageReport, UsageReportService } from '@app/metering';

/**
 * GET /admin/usage?from&to&group_by&format[&tenant_id]: any tenant for admins (all tenants when
 * tenant_id is absent), a tenant_admin's own tenant only.
 */
@ApiTags('admin: usage')
@ApiBearerAuth()
@Controller('admin/usage')
@UseGuards(AdminGuard)
export class UsageAdminController {
  constructor(private readonly reports: UsageReportService) {}

  @Get()
  async usage(
    @CurrentAdmin() admin: AdminPrincipal,
    @Query() q: Record<string, unknown>,
    @Res({ passthrough: true }) reply: { header(name: string, value: string): unknown },
  ) {
    const query = parseUsageQuery(q, { allowTenant: true });
    if (admin.role !== 'admin') {
      if (query.tenantId && query.tenantId !== admin.tenantId)
        throw ApiError.forbidden('You may only read your own tenant.', 'tenant_forbidden');
      query.tenantId = admin.tenantId;
    }
    return sendUsageReport(await this.reports.report(query), query.format, reply);
  }
}
