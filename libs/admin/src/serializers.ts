import { ApiKey, AuditLog, Tenant } from '@app/tenants';

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

export function tenantView(t: Tenant) {
  return {
    id: t.id,
    object: 'tenant' as const,
    name: t.name,
    status: t.status,
    created_at: iso(t.createdAt),
    updated_at: iso(t.updatedAt),
  };
}

export function keyView(k: ApiKey) {
  return {
    id: k.id,
    object: 'api_key' as const,
    tenant_id: k.tenantId,
    name: k.name,
    prefix: k.prefix,
    scopes: k.scopes,
    expires_at: iso(k.expiresAt),
    revoked_at: iso(k.revokedAt),
    last_used_at: iso(k.lastUsedAt),
    rotated_from_id: k.rotatedFromId,
    created_at: iso(k.createdAt),
  };
}

export function auditView(a: AuditLog) {
  return {
    id: Number(a.id),
    object: 'audit_log' as const,
    at: iso(a.at),
    actor: a.actor,
    actor_role: a.actorRole,
    action: a.action,
    target_type: a.targetType,
    target_id: a.targetId,
    tenant_id: a.tenantId,
    details: a.details,
    request_id: a.requestId,
  };
}
