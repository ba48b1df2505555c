import { Body, Controller, Get, Param, Put, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AdminGuard, AdminRoles, assertTenantAccess, CurrentAdmin, type AdminPrincipal } from '@app/auth';
import { UuidPipe } from '@app/common';
import { parsePolicyInput, QuotaPolicyService } from '@app/quotas';
import { actorOf } from './actor';

type Req = { id?: string };

/**
 * Quota policies: GET/PUT /admin/tenants/:id/quota and per-key overrides at
 * /admin/tenants/:id/keys/:keyId/quota. PUT replaces the row (null/absent field = inherit), audited.
 */
@ApiTags('admin: quotas')
@ApiBearerAuth()
@Controller('admin/tenants/:tenantId')
@UseGuards(AdminGuard)
export class QuotaAdminController {
  constructor(private readonly policies: QuotaPolicyService) {}

  @Get('quota')
  async get(@CurrentAdmin() admin: AdminPrincipal, @Param('tenantId', UuidPipe) tenantId: string) {
    assertTenantAccess(admin, tenantId);
    return this.policies.get(tenantId.toLowerCase());
  }

  @Put('quota')
  @AdminRoles('admin')
  async put(
    @CurrentAdmin() admin: AdminPrincipal,
    @Req() req: Req,
    @Param('tenantId', UuidPipe) tenantId: string,
    @Body() body: unknown,
  ) {
    return this.policies.put(actorOf(admin, req), tenantId.toLowerCase(), null, parsePolicyInput(body));
  }

  @Get('keys/:keyId/quota')
  async getKey(
    @CurrentAdmin() admin: AdminPrincipal,
    @Param('tenantId', UuidPipe) tenantId: string,
    @Param('keyId', UuidPipe) keyId: string,
  ) {
    assertTenantAccess(admin, tenantId);
    return this.policies.get(tenantId.toLowerCase(), keyId.toLowerCase());
  }

  @Put('keys/:keyId/quota')
  @AdminRoles('admin')
  async putKey(
    @CurrentAdmin() admin: AdminPrincipal,
    @Req() req: Req,
    @Param('tenantId', UuidPipe) tenantId: string,
    @Param('keyId', UuidPipe) keyId: string,
    @Body() body: unknown,
  ) {
    return this.policies.put(
      actorOf(admin, req),
      tenantId.toLowerCase(),
      keyId.toLowerCase(),
      parsePolicyInput(body),
    );
  }
}
