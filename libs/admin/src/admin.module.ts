import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { MeteringModule } from '@app/metering';
import { InferenceModule } from '@app/inference';
import { QuotasModule } from '@app/quotas';
import { AuditAdminController } from './audit/audit-admin.controller';
import { KeysAdminController } from './keys/keys-admin.controller';
import { ModelsAdminController } from './models-admin.controller';
import { QuotaAdminController } from './quota-admin.controller';
import { TenantsAdminController } from './tenants/tenants-admin.controller';
import { UsageAdminController } from './usage-admin.controller';

/** Operators' REST API under /admin (JWT-guarded). */
@Module({
  imports: [AuthModule, QuotasModule, MeteringModule, InferenceModule],
  controllers: [
    TenantsAdminController,
    KeysAdminController,
    AuditAdminController,
    QuotaAdminController,
    UsageAdminController,
    ModelsAdminController,
  ],
})
export class AdminModule {}
