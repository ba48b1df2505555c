import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  Req,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AdminGuard, AdminRoles, assertTenantAccess, CurrentAdmin, type AdminPrincipal } from '@app/auth';
import { DEFAULT_PAGE_LIMIT, page, PaginationQuery, UuidPipe } from '@app/common';
import { TenantsService } from '@app/tenants';
import { actorOf } from '../actor';
import { CreateTenantDto, UpdateTenantDto } from '../dto/tenant.dto';
import { tenantView } from '../serializers';

type Req = { id?: string };

@ApiTags('admin: tenants')
@ApiBearerAuth()
@Controller('admin/tenants')
@UseGuards(AdminGuard)
export class TenantsAdminController {
  constructor(private readonly tenants: TenantsService) {}

  @Post()
  @AdminRoles('admin')
  async create(@CurrentAdmin() admin: AdminPrincipal, @Req() req: Req, @Body() body: CreateTenantDto) {
    return tenantView(await this.tenants.create(actorOf(admin, req), body));
  }

  @Get()
  async list(@CurrentAdmin() admin: AdminPrincipal, @Query() query: PaginationQuery) {
    const limit = query.limit ?? DEFAULT_PAGE_LIMIT;
    const offset = query.offset ?? 0;
    const onlyIds = admin.role === 'admin' ? undefined : [admin.tenantId!];
    const [rows, total] = await this.tenants.list({ limit, offset, onlyIds });
    return page(rows.map(tenantView), total, limit, offset);
  }

  @Get(':tenantId')
  async get(@CurrentAdmin() admin: AdminPrincipal, @Param('tenantId', UuidPipe) tenantId: string) {
    assertTenantAccess(admin, tenantId);
    return tenantView(await this.tenants.get(tenantId));
  }

  @Patch(':tenantId')
  @AdminRoles('admin')
  async update(
    @CurrentAdmin() admin: AdminPrincipal,
    @Req() req: Req,
    @Param('tenantId', UuidPipe) tenantId: string,
    @Body() body: UpdateTenantDto,
  ) {
    return tenantView(await this.tenants.update(actorOf(admin, req), tenantId, body));
  }

  @Post(':tenantId/suspend')
  @HttpCode(200)
  @AdminRoles('admin')
  async suspend(
    @CurrentAdmin() admin: AdminPrincipal,
    @Req() req: Req,
    @Param('tenantId', UuidPipe) tenantId: string,
  ) {
    return tenantView(await this.tenants.setStatus(actorOf(admin, req), tenantId, 'suspended'));
  }

  @Post(':tenantId/activate')
  @HttpCode(200)
  @AdminRoles('admin')
  async activate(
    @CurrentAdmin() admin: AdminPrincipal,
    @Req() req: Req,
    @Param('tenantId', UuidPipe) tenantId: string,
  ) {
    return tenantView(await this.tenants.setStatus(actorOf(admin, req), tenantId, 'active'));
  }

  @Delete(':tenantId')
  @AdminRoles('admin')
  async remove(
    @CurrentAdmin() admin: AdminPrincipal,
    @Req() req: Req,
    @Param('tenantId', UuidPipe) tenantId: string,
  ) {
    await this.tenants.delete(actorOf(admin, req), tenantId);
    return { id: tenantId, object: 'tenant', deleted: true };
  }
}
