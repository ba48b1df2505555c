import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AdminGuard, assertTenantAccess, CurrentAdmin, type AdminPrincipal } from '@app/auth';
import { DEFAULT_PAGE_LIMIT, page, PaginationQuery, UuidPipe } from '@app/common';
import { ApiKeysService } from '@app/tenants';
import { actorOf } from '../actor';
import { CreateKeyDto, RotateKeyDto } from '../dto/key.dto';
import { keyView } from '../serializers';

type Req = { id?: string };
const DEFAULT_GRACE_SECONDS = 86400;

/** API keys of one tenant: admins for any tenant, tenant_admins for their own. */
@ApiTags('admin: api keys')
@ApiBearerAuth()
@Controller('admin/tenants/:tenantId/keys')
@UseGuards(AdminGuard)
export class KeysAdminController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  async create(
    @CurrentAdmin() admin: AdminPrincipal,
    @Req() req: Req,
    @Param('tenantId', UuidPipe) tenantId: string,
    @Body() body: CreateKeyDto,
  ) {
    assertTenantAccess(admin, tenantId);
    const issued = await this.keys.create(actorOf(admin, req), tenantId, {
      name: body.name,
      scopes: body.scopes,
      expiresAt: body.expires_at ? new Date(body.expires_at) : null,
    });
    return { ...keyView(issued.apiKey), key: issued.key };
  }

  @Get()
  async list(
    @CurrentAdmin() admin: AdminPrincipal,
    @Param('tenantId', UuidPipe) tenantId: string,
    @Query() query: PaginationQuery,
  ) {
    assertTenantAccess(admin, tenantId);
    const limit = query.limit ?? DEFAULT_PAGE_LIMIT;
    const offset = query.offset ?? 0;
    const [rows, total] = await this.keys.list(tenantId, limit, offset);
    return page(rows.map(keyView), total, limit, offset);
  }

  @Get(':keyId')
  async get(
    @CurrentAdmin() admin: AdminPrincipal,
    @Param('tenantId', UuidPipe) tenantId: string,
    @Param('keyId', UuidPipe) keyId: string,
  ) {
    assertTenantAccess(admin, tenantId);
    return keyView(await this.keys.get(tenantId, keyId));
  }

  @Post(':keyId/revoke')
  @HttpCode(200)
  async revoke(
    @CurrentAdmin() admin: AdminPrincipal,
    @Req() req: Req,
    @Param('tenantId', UuidPipe) tenantId: string,
    @Param('keyId', UuidPipe) keyId: string,
  ) {
    assertTenantAccess(admin, tenantId);
    return keyView(await this.keys.revoke(actorOf(admin, req), tenantId, keyId));
  }

  @Post(':keyId/rotate')
  async rotate(
    @CurrentAdmin() admin: AdminPrincipal,
    @Req() req: Req,
    @Param('tenantId', UuidPipe) tenantId: string,
    @Param('keyId', UuidPipe) keyId: string,
    @Body() body: RotateKeyDto,
  ) {
    assertTenantAccess(admin, tenantId);
    const grace = body?.grace_period_seconds ?? DEFAULT_GRACE_SECONDS;
    const rotated = await this.keys.rotate(
      actorOf(admin, req),
      tenantId,
      keyId,
      new Date(Date.now() + grace * 1000),
    );
    return { ...keyView(rotated.apiKey), key: rotated.key, previous_key: keyView(rotated.old) };
  }
}
