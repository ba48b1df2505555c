import { execFileSync } from 'node:child_process';

export interface RunAs {
  uid?: number;
  gid?: number;
}

function idOf(flag: '-u' | '-g', name: string): number | undefined {
  try {
    return Number(
      execFileSync('id', [flag, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
    );
  } catch {
    return undefined;
  }
}

/**
 * Postgres refuses to run as root. As root, run it as the `postgres` system user
 * (created when missing); otherwise as ourselves.
 */
export function postgresRunAs(): RunAs {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return {};
  let uid = idOf('-u', 'postgres');
  if (uid === undefined) {
    try {
      execFileSync('groupadd', ['--system', 'postgres'], { stdio: 'ignore' });
    } catch {
      // the group may exist already
    }
    execFileSync('useradd', ['--system', '-g', 'postgres', '--no-create-home', 'postgres'], {
      stdio: 'ignore',
    });
    uid = idOf('-u', 'postgres');
  }
  const gid = idOf('-g', 'postgres');
  if (uid === undefined || gid === undefined)
    throw new Error('could not create or find the `postgres` system user');
  return { uid, gid };
}
