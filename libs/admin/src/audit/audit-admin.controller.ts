import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AdminGuard, CurrentAdmin, type AdminPrincipal } from '@app/auth';
import { DEFAULT_PAGE_LIMIT, page } from '@app/common';
import { AuditService } from '@app/tenants';
import { AuditQueryDto } from '../dto/audit-query.dto';
import { auditView } from '../serializers';

/** The admin audit log: admins see everything, tenant_admins their own tenant's rows. */
@ApiTags('admin: audit')
@ApiBearerAuth()
@Controller('admin/audit')
@UseGuards(AdminGuard)
export class AuditAdminController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  async list(@CurrentAdmin() admin: AdminPrincipal, @Query() query: AuditQueryDto) {
    const limit = query.limit ?? DEFAULT_PAGE_LIMIT;
    const offset = query.offset ?? 0;
    const tenantId = admin.role === 'admin' ? query.tenant_id : admin.tenantId;
    const [rows, total] = await this.audit.list({ tenantId, action: query.action, limit, offset });
    return page(rows.map(auditView), total, limit, offset);
  }
}
