import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { ApiError } from '@app/common';
import { AdminPrincipal, AdminRole } from './admin-principal';
import { ADMIN_JWT_STRATEGY } from './admin-jwt.strategy';
import { ADMIN_ROLES_KEY } from './roles.decorator';

/**
 * Admin endpoints: a valid admin JWT (401 otherwise) whose role is allowed by @AdminRoles
 * (403 otherwise). Tenant scoping is checked per route with assertTenantAccess().
 */
@Injectable()
export class AdminGuard extends AuthGuard(ADMIN_JWT_STRATEGY) {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    await super.canActivate(context);
    const roles = this.reflector.getAllAndOverride<AdminRole[] | undefined>(ADMIN_ROLES_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    const principal = context.switchToHttp().getRequest<{ user?: AdminPrincipal }>().user;
    if (roles && roles.length > 0 && (!principal || !roles.includes(principal.role))) {
      throw ApiError.forbidden(`This action requires the ${roles.join(' or ')} role.`, 'insufficient_role');
    }
    return true;
  }

  override handleRequest<T = AdminPrincipal>(err: unknown, user: T | false, info: unknown): T {
    if (err instanceof ApiError) throw err;
    if (err || !user) {
      const reason = info instanceof Error ? info.message : 'missing or invalid token';
      const message =
        reason === 'No auth token'
          ? "Admin endpoints need an admin JWT in the Authorization header ('Bearer <token>')."
          : `Invalid admin token: ${reason}.`;
      throw new ApiError(401, message, { code: 'invalid_admin_token' });
    }
    return user;
  }
}

/** tenant_admin may only act on their own tenant: 403 elsewhere. */
export function assertTenantAccess(principal: AdminPrincipal, tenantId: string): void {
  if (principal.role === 'admin') return;
  if (principal.tenantId !== tenantId.toLowerCase()) {
    throw ApiError.forbidden('You may only manage your own tenant.', 'tenant_forbidden');
  }
}
