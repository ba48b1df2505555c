import { mintAdminToken } from '@app/auth';
import { ParsedArgs, stringFlag } from '../args';
import { defaultServerUrl, resolveSecret } from '../local-env';

/** Calls the admin REST API with --token (or LLM_INFERENCE_ADMIN_TOKEN, or a short-lived local token). */
export async function adminRequest(
  args: ParsedArgs,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const base = (stringFlag(args, 'url') ?? defaultServerUrl()).replace(/\/+$/, '');
  const token =
    stringFlag(args, 'token') ??
    process.env.LLM_INFERENCE_ADMIN_TOKEN ??
    mintAdminToken({
      secret: resolveSecret(stringFlag(args, 'secret')),
      sub: 'cli',
      role: 'admin',
      ttlSeconds: 300,
    });
  const response = await fetch(base + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  if (!response.ok) {
    const message = (parsed as { error?: { message?: string } })?.error?.message ?? text;
    throw new Error(`${method} ${path}: HTTP ${response.status}: ${message}`);
  }
  return parsed;
}
