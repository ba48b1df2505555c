import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './inference-app';

export const CLI_ARGS = [
  '-r',
  join(ROOT, 'test/e2e/metering-support/register-ts.cjs'),
  join(ROOT, 'apps/cli/src/main.ts'),
];

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the `llm-inference` CLI (from source) in a child process, asynchronously (the gateway under
 * test lives in this process). `onSpawn` gets the child, e.g. to kill it mid-run.
 */
export function runCli(
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number; onSpawn?: (kill: () => void) => void } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...CLI_ARGS, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    opts.onSpawn?.(() => child.kill('SIGKILL'));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A port nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
