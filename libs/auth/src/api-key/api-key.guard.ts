import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { ApiError } from '@app/common';
import { KeyFailure, KeyVerifier, VerifiedKey } from '@app/tenants';

export interface ApiKeyRequest {
  headers: Record<string, string | string[] | undefined>;
  apiKey?: VerifiedKey;
}

/** The 401 messages of refused keys (also the batch runner's answer to a key refused mid-batch). */
export const API_KEY_MESSAGES: Record<KeyFailure | 'missing', string> = {
  missing: "You didn't provide an API key. Provide it in the Authorization header as 'Bearer sk-...'.",
  malformed: 'Incorrect API key provided.',
  unknown: 'Incorrect API key provided.',
  revoked: 'This API key has been revoked.',
  expired: 'This API key has expired.',
  tenant_suspended: 'The tenant of this API key is suspended.',
};

/** Extracts the key from `Authorization: Bearer <key>` (or `x-api-key`). */
export function presentedKey(headers: ApiKeyRequest['headers']): string | undefined {
  const auth = headers['authorization'];
  const value = Array.isArray(auth) ? auth[0] : auth;
  if (value) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(value);
    return match ? match[1] : value.trim();
  }
  const alt = headers['x-api-key'];
  return (Array.isArray(alt) ? alt[0] : alt) || undefined;
}

/** Tenants' API: a valid key of an active tenant, else 401 invalid_api_key in OpenAI's shape. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(private readonly verifier: KeyVerifier) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<ApiKeyRequest>();
    const key = presentedKey(request.headers);
    if (!key) throw ApiError.unauthorized(API_KEY_MESSAGES.missing);
    const result = await this.verifier.verify(key);
    if (!result.ok) throw ApiError.unauthorized(API_KEY_MESSAGES[result.reason]);
    request.apiKey = result.key;
    return true;
  }
}
