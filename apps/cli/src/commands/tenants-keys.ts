import { ParsedArgs, stringFlag, UsageError } from '../args';
import { adminRequest } from './admin-client';

const pageQuery = (args: ParsedArgs) => {
  const q = new URLSearchParams();
  const limit = stringFlag(args, 'limit');
  const offset = stringFlag(args, 'offset');
  if (limit) q.set('limit', limit);
  if (offset) q.set('offset', offset);
  const s = q.toString();
  return s ? `?${s}` : '';
};

export async function tenantsCommand(args: ParsedArgs): Promise<unknown> {
  const action = args.positional[1];
  switch (action) {
    case 'create':
      return adminRequest(args, 'POST', '/admin/tenants', { name: stringFlag(args, 'name', true) });
    case 'list':
      return adminRequest(args, 'GET', `/admin/tenants${pageQuery(args)}`);
    case 'suspend':
    case 'activate':
      return adminRequest(args, 'POST', `/admin/tenants/${stringFlag(args, 'tenant', true)}/${action}`);
    default:
      throw new UsageError(
        'usage: llm-inference tenants create --name NAME | list | suspend --tenant ID | activate --tenant ID',
      );
  }
}

export async function keysCommand(args: ParsedArgs): Promise<unknown> {
  const action = args.positional[1];
  const tenant = () => stringFlag(args, 'tenant', true)!;
  switch (action) {
    case 'create': {
      const scopes = stringFlag(args, 'scopes');
      const expires = stringFlag(args, 'expires-at');
      return adminRequest(args, 'POST', `/admin/tenants/${tenant()}/keys`, {
        name: stringFlag(args, 'name') ?? 'default',
        ...(scopes ? { scopes: scopes.split(',').filter(Boolean) } : {}),
        ...(expires ? { expires_at: expires } : {}),
      });
    }
    case 'list':
      return adminRequest(args, 'GET', `/admin/tenants/${tenant()}/keys${pageQuery(args)}`);
    case 'revoke':
      return adminRequest(
        args,
        'POST',
        `/admin/tenants/${tenant()}/keys/${stringFlag(args, 'key', true)}/revoke`,
      );
    case 'rotate': {
      const grace = stringFlag(args, 'grace-seconds');
      return adminRequest(
        args,
        'POST',
        `/admin/tenants/${tenant()}/keys/${stringFlag(args, 'key', true)}/rotate`,
        {
          ...(grace ? { grace_period_seconds: Number(grace) } : {}),
        },
      );
    }
    default:
      throw new UsageError(
        'usage: llm-inference keys create --tenant ID [--name N] [--scopes a,b] [--expires-at ISO] | list --tenant ID | revoke --tenant ID --key ID | rotate --tenant ID --key ID [--grace-seconds N]',
      );
  }
}
