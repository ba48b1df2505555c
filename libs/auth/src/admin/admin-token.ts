import jwt from 'jsonwebtoken';
import { ADMIN_ROLES, AdminClaims, AdminRole } from './admin-principal';

export const ADMIN_JWT_ALGORITHM = 'HS256';
export const ADMIN_JWT_ISSUER = 'llm-inference';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Parses durations like 90s, 15m, 1h, 7d (or plain seconds). */
export function parseTtl(ttl: string): number {
  const match = /^(\d+)\s*(s|m|h|d)?$/.exec(ttl.trim());
  if (!match) throw new Error(`invalid ttl "${ttl}": use e.g. 3600, 90s, 15m, 1h or 7d`);
  const factor = { s: 1, m: 60, h: 3600, d: 86400 }[(match[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  const seconds = Number(match[1]) * factor;
  if (seconds <= 0 || seconds > 366 * 86400)
    throw new Error(`invalid ttl "${ttl}": must be between 1s and 366d`);
  return seconds;
}

export interface MintOptions {
  secret: string;
  sub: string;
  role: AdminRole | string;
  tenantId?: string;
  ttlSeconds: number;
}

/** Signs an admin JWT (HS256) with the configured secret. */
export function mintAdminToken(options: MintOptions): string {
  if (!options.sub) throw new Error('--sub is required');
  if (!ADMIN_ROLES.includes(options.role as AdminRole)) {
    throw new Error(`invalid role "${options.role}": use admin or tenant_admin`);
  }
  if (options.role === 'tenant_admin' && !(options.tenantId && UUID_RE.test(options.tenantId))) {
    throw new Error('role tenant_admin needs --tenant <tenant uuid>');
  }
  if (options.role === 'admin' && options.tenantId) throw new Error('role admin takes no --tenant');
  const claims: AdminClaims = { sub: options.sub, role: options.role as AdminRole };
  if (options.tenantId) claims.tenant_id = options.tenantId.toLowerCase();
  return jwt.sign(claims, options.secret, {
    algorithm: ADMIN_JWT_ALGORITHM,
    expiresIn: options.ttlSeconds,
    issuer: ADMIN_JWT_ISSUER,
  });
}

/** Validates verified claims; returns an error text or null. */
export function claimsProblem(claims: Partial<AdminClaims>): string | null {
  if (typeof claims.sub !== 'string' || claims.sub.length === 0) return 'token has no subject';
  if (!ADMIN_ROLES.includes(claims.role as AdminRole)) return 'token has no admin role';
  if (
    claims.role === 'tenant_admin' &&
    !(typeof claims.tenant_id === 'string' && UUID_RE.test(claims.tenant_id))
  ) {
    return 'tenant_admin token has no valid tenant_id';
  }
  if (claims.exp === undefined) return 'token has no expiry';
  return null;
}
