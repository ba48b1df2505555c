import { parseArgs, stringFlag, UsageError } from './args';

describe('CLI argument parsing', () => {
  it('reads positionals and --flag value / --flag=value / bare flags', () => {
    const args = parseArgs(['admin', 'token', '--sub', 'me', '--ttl=1h', '--verbose']);
    expect(args).toEqual({ positional: ['admin', 'token'], flags: { sub: 'me', ttl: '1h', verbose: true } });
    expect(stringFlag(args, 'sub')).toBe('me');
    expect(() => stringFlag(args, 'verbose')).toThrow(UsageError);
    expect(() => stringFlag(args, 'role', true)).toThrow('--role is required');
  });
});
