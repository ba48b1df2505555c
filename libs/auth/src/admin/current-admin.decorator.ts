import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { AdminPrincipal } from './admin-principal';

/** The authenticated admin (behind AdminGuard). */
export const CurrentAdmin = createParamDecorator((_data: unknown, ctx: ExecutionContext): AdminPrincipal => {
  const user = ctx.switchToHttp().getRequest<{ user?: AdminPrincipal }>().user;
  if (!user) throw new Error('CurrentAdmin used on a route without AdminGuard');
  return user;
});
