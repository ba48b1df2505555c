import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { VerifiedKey } from '@app/tenants';
import { ApiKeyRequest } from './api-key.guard';

/** The verified API key (tenant id, key id, scopes) of a request behind ApiKeyGuard. */
export const CurrentKey = createParamDecorator((_data: unknown, ctx: ExecutionContext): VerifiedKey => {
  const key = ctx.switchToHttp().getRequest<ApiKeyRequest>().apiKey;
  if (!key) throw new Error('CurrentKey used on a route without ApiKeyGuard');
  return key;
});
