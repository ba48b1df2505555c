import { parsePromText } from '@app/observability';
import { ParsedArgs, stringFlag, UsageError } from '../args';
import { defaultServerUrl, localEnv } from '../local-env';
import { renderGpuView, Snapshot } from './gpu-view';

async function scrape(url: string, token: string | undefined): Promise<Snapshot> {
  let res: Response;
  try {
    res = await fetch(`${url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  } catch (err) {
    throw new Error(`cannot reach ${url}/metrics: ${(err as Error).message} (is the server running?)`, {
      cause: err,
    });
  }
  if (res.status === 401)
    throw new Error(`${url}/metrics needs a bearer token: pass --token or set METRICS_BEARER_TOKEN`);
  if (!res.ok) throw new Error(`${url}/metrics answered HTTP ${res.status}`);
  return { samples: parsePromText(await res.text()), atMs: Date.now() };
}

/**
 * `llm-inference gpu [--url URL] [--token T] [--interval S] [--once]`: a live terminal view of
 * the GPUs (NVML) and the engine, read from the server's /metrics. --once prints one view.
 */
export async function gpuCommand(
  args: ParsedArgs,
  write = (s: string) => process.stdout.write(s),
): Promise<string> {
  const url = (stringFlag(args, 'url') ?? defaultServerUrl()).replace(/\/+$/, '');
  const token = stringFlag(args, 'token') ?? localEnv().METRICS_BEARER_TOKEN;
  const intervalText = stringFlag(args, 'interval') ?? '2';
  const intervalS = Number(intervalText);
  if (!Number.isFinite(intervalS) || intervalS < 0.2 || intervalS > 3600)
    throw new UsageError(
      `--interval must be a number of seconds between 0.2 and 3600 (got "${intervalText}")`,
    );
  let prev: Snapshot | null = null;
  let cur = await scrape(url, token);
  if (args.flags.once) return renderGpuView(null, cur, url);
  const clear = process.stdout.isTTY ? '\x1b[2J\x1b[H' : '';
  for (;;) {
    write(clear + renderGpuView(prev, cur, url) + (clear ? '\n(Ctrl-C to quit)\n' : '\n'));
    await new Promise((r) => setTimeout(r, intervalS * 1000));
    prev = cur;
    cur = await scrape(url, token);
  }
}
