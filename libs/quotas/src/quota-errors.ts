import { ApiError } from '@app/common';

export type QuotaErrorType = 'rate_limit_exceeded' | 'insufficient_quota';

/** 429 in OpenAI's shape with Retry-After (and any x-ratelimit-* headers). */
export function quotaExceeded(
  type: QuotaErrorType,
  message: string,
  retryAfterS: number,
  headers: Record<string, string> = {},
): ApiError {
  return new ApiError(429, message, {
    type,
    code: type,
    headers: { ...headers, 'retry-after': String(retryAfterS) },
  });
}
