import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { AuditAdminController } from './audit/audit-admin.controller';
import { KeysAdminController } from './keys/keys-admin.controller';
import { TenantsAdminController } from './tenants/tenants-admin.controller';

/** Operators' REST API under /admin (JWT-guarded). */
@Module({
  imports: [AuthModule],
  controllers: [TenantsAdminController, KeysAdminController, AuditAdminController],
})
export class AdminModule {}
