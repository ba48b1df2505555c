import { Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AdminGuard, CurrentAdmin, type AdminPrincipal } from '@app/auth';
import { ApiError, isUuid, readListQuery } from '@app/common';
import { BATCH_STATUSES } from './batch-object';
import { BatchesService } from './batches.service';

/**
 * Operators' view of batches: GET /admin/batches?tenant_id&status&limit&after (admins: every
 * tenant; tenant_admins: their own), GET /admin/batches/{id}, POST /admin/batches/{id}/cancel.
 */
@ApiTags('admin: batches')
@ApiBearerAuth()
@Controller('admin/batches')
@UseGuards(AdminGuard)
export class BatchesAdminController {
  constructor(private readonly batches: BatchesService) {}

  @Get()
  list(@CurrentAdmin() admin: AdminPrincipal, @Query() q: Record<string, unknown>) {
    const asked = typeof q.tenant_id === 'string' && q.tenant_id !== '' ? q.tenant_id : null;
    if (asked !== null && !isUuid(asked))
      throw ApiError.badRequest('tenant_id must be a UUID.', 'tenant_id', 'invalid_uuid');
    const status = typeof q.status === 'string' && q.status !== '' ? q.status : null;
    if (status !== null && !(BATCH_STATUSES as readonly string[]).includes(status))
      throw ApiError.badRequest(`status must be one of: ${BATCH_STATUSES.join(', ')}.`, 'status');
    return this.batches.adminList(
      { tenantId: this.tenantScope(admin, asked), status },
      readListQuery(q, 100),
    );
  }

  @Get(':batchId')
  async get(@CurrentAdmin() admin: AdminPrincipal, @Param('batchId') batchId: string) {
    return this.batches.get(await this.tenantOf(admin, batchId), batchId);
  }

  @Post(':batchId/cancel')
  @HttpCode(200)
  async cancel(@CurrentAdmin() admin: AdminPrincipal, @Param('batchId') batchId: string) {
    return this.batches.cancel(await this.tenantOf(admin, batchId), batchId);
  }

  /** Admins: the asked tenant or every one; tenant_admins: their own only. */
  private tenantScope(admin: AdminPrincipal, asked: string | null): string | null {
    if (admin.role === 'admin') return asked;
    if (asked !== null && asked !== admin.tenantId)
      throw ApiError.forbidden('You may only read your own tenant.', 'tenant_forbidden');
    return admin.tenantId ?? null;
  }

  private async tenantOf(admin: AdminPrincipal, batchId: string): Promise<string> {
    const tenantId = await this.batches.tenantOf(batchId);
    // Another tenant's batch is a 404 to a tenant_admin, as to its API keys.
    if (admin.role !== 'admin' && tenantId !== admin.tenantId)
      throw ApiError.notFound(`No such batch: ${batchId}.`, 'batch_not_found', 'batch_id');
    return tenantId;
  }
}
