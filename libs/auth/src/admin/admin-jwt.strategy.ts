import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { APP_CONFIG, ApiError, AppConfig } from '@app/common';
import { AdminClaims, AdminPrincipal } from './admin-principal';
import { ADMIN_JWT_ALGORITHM, ADMIN_JWT_ISSUER, claimsProblem } from './admin-token';

export const ADMIN_JWT_STRATEGY = 'admin-jwt';

/** passport-jwt: Bearer token, HS256 with ADMIN_JWT_SECRET, our issuer, expiry required. */
@Injectable()
export class AdminJwtStrategy extends PassportStrategy(Strategy, ADMIN_JWT_STRATEGY) {
  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // Without a configured secret no token can verify (the gateway generates one at boot).
      secretOrKey: config.adminJwtSecret ?? randomBytes(32).toString('hex'),
      algorithms: [ADMIN_JWT_ALGORITHM],
      issuer: ADMIN_JWT_ISSUER,
      ignoreExpiration: false,
    });
  }

  validate(claims: AdminClaims): AdminPrincipal {
    const problem = claimsProblem(claims);
    if (problem) throw new ApiError(401, `Invalid admin token: ${problem}.`, { code: 'invalid_admin_token' });
    return { sub: claims.sub, role: claims.role, tenantId: claims.tenant_id?.toLowerCase() };
  }
}
