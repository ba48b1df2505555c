import { SetMetadata } from '@nestjs/common';
import { AdminRole } from './admin-principal';

export const ADMIN_ROLES_KEY = 'llm:admin-roles';

/** Restricts an admin route (or controller) to the given roles. Default: any admin role. */
export const AdminRoles = (...roles: AdminRole[]) => SetMetadata(ADMIN_ROLES_KEY, roles);
