export type AdminRole = 'admin' | 'tenant_admin';
export const ADMIN_ROLES: readonly AdminRole[] = ['admin', 'tenant_admin'];

/** The caller of an admin endpoint, from a verified JWT. */
export interface AdminPrincipal {
  sub: string;
  role: AdminRole;
  /** Set for tenant_admin: the only tenant they may manage. */
  tenantId?: string;
}

/** Claims of an admin JWT. */
export interface AdminClaims {
  sub: string;
  role: AdminRole;
  tenant_id?: string;
  iat?: number;
  exp?: number;
}
