import { Controller, Get, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AdminGuard, AdminRoles, CurrentAdmin, type AdminPrincipal } from '@app/auth';
import { ApiError } from '@app/common';
import { ModelRegistry, ModelsFileError } from '@app/inference';
import { AuditService } from '@app/tenants';
import { actorOf } from './actor';

type Req = { id?: string };

/**
 * GET /admin/models: the served models (engine state) and the routing table; POST
 * /admin/models/reload: applies MODELS_FILE without a restart (models added, changed or removed;
 * aliases and fallbacks), audited.
 */
@ApiTags('admin: models')
@ApiBearerAuth()
@Controller('admin/models')
@UseGuards(AdminGuard)
@AdminRoles('admin')
export class ModelsAdminController {
  constructor(
    private readonly models: ModelRegistry,
    private readonly audit: AuditService,
  ) {}

  @Get()
  describe() {
    return this.models.describe();
  }

  @Post('reload')
  @HttpCode(200)
  async reload(@CurrentAdmin() admin: AdminPrincipal, @Req() req: Req) {
    let reload;
    try {
      reload = await this.models.reload();
    } catch (err) {
      if (err instanceof ModelsFileError) throw ApiError.badRequest(err.message, null, 'invalid_models_file');
      throw err;
    }
    await this.audit.record(actorOf(admin, req), {
      action: 'models.reload',
      targetType: 'models',
      details: reload,
    });
    return { ...this.models.describe(), changes: reload.models };
  }
}
