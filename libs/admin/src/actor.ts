import { AdminPrincipal } from '@app/auth';
import { Actor } from '@app/tenants';

export function actorOf(principal: AdminPrincipal, request: { id?: string }): Actor {
  return { sub: principal.sub, role: principal.role, requestId: request.id };
}
