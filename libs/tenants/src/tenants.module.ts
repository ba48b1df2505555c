import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditService } from './audit/audit.service';
import { ApiKey } from './entities/api-key.entity';
import { AuditLog } from './entities/audit-log.entity';
import { Tenant } from './entities/tenant.entity';
import { ApiKeysService } from './keys/api-keys.service';
import { KeyVerifier } from './keys/key-verifier';
import { TenantStorage } from './storage/tenant-storage.service';
import { TenantsService } from './tenants.service';

/** Tenants, API keys, the audit log and the tenant storage limit: entities and services, no controllers. */
@Module({
  imports: [TypeOrmModule.forFeature([Tenant, ApiKey, AuditLog])],
  providers: [TenantsService, ApiKeysService, KeyVerifier, AuditService, TenantStorage],
  exports: [TenantsService, ApiKeysService, KeyVerifier, AuditService, TenantStorage],
})
export class TenantsModule {}
