import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { TenantsModule } from '@app/tenants';
import { AdminGuard } from './admin/admin.guard';
import { AdminJwtStrategy } from './admin/admin-jwt.strategy';
import { ApiKeyGuard } from './api-key/api-key.guard';

/** API-key guard for tenants' clients; admin JWT strategy and guard for operators. */
@Module({
  imports: [PassportModule, TenantsModule],
  providers: [ApiKeyGuard, AdminJwtStrategy, AdminGuard],
  exports: [ApiKeyGuard, AdminGuard, TenantsModule],
})
export class AuthModule {}
