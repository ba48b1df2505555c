import { mintAdminToken, parseTtl } from '@app/auth';
import { ParsedArgs, stringFlag } from '../args';
import { resolveSecret } from '../local-env';

/** llm-inference admin token --sub NAME --role admin|tenant_admin [--tenant ID] [--ttl 1h] */
export function adminToken(args: ParsedArgs): string {
  return mintAdminToken({
    secret: resolveSecret(stringFlag(args, 'secret')),
    sub: stringFlag(args, 'sub', true)!,
    role: stringFlag(args, 'role') ?? 'admin',
    tenantId: stringFlag(args, 'tenant'),
    ttlSeconds: parseTtl(stringFlag(args, 'ttl') ?? '1h'),
  });
}
