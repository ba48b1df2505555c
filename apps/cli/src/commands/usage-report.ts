import { ParsedArgs, stringFlag, UsageError } from '../args';
import { adminRequest } from './admin-client';

export const USAGE_REPORT_HELP =
  'usage: llm-inference usage report [--tenant ID] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--group-by day,model,key,lane,kind | day,user] [--format json|csv]';

/** `usage report`: GET /admin/usage (same JSON or CSV as the endpoint). */
export async function usageCommand(args: ParsedArgs): Promise<unknown> {
  if (args.positional[1] !== 'report') throw new UsageError(USAGE_REPORT_HELP);
  const q = new URLSearchParams();
  const set = (flag: string, param: string) => {
    const v = stringFlag(args, flag);
    if (v !== undefined) q.set(param, v);
  };
  set('tenant', 'tenant_id');
  set('from', 'from');
  set('to', 'to');
  set('group-by', 'group_by');
  set('format', 'format');
  const output = await adminRequest(args, 'GET', `/admin/usage?${q.toString()}`);
  // CSV comes back as text: print it as-is (without an extra trailing newline).
  return typeof output === 'string' ? output.replace(/\r?\n$/, '') : output;
}
