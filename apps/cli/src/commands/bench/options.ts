import { isIP } from 'node:net';
import { intFlag, ParsedArgs, stringFlag, UsageError } from '../../args';
import { ServerTarget, targetFromArgs } from '../chat-stream';

export type Endpoint = 'chat' | 'completions' | 'embeddings';

export interface LoadOptions {
  target: ServerTarget;
  model: string | undefined;
  endpoint: Endpoint;
  requests: number;
  concurrency: number;
  /** Poisson arrivals at this many requests/s; Infinity sends as fast as concurrency allows. */
  rate: number;
  /** Hard wall-clock bound of the run; unfinished requests are aborted when it passes. */
  maxSeconds: number;
  inputLen: number;
  outputLen: number;
  dataset: string | undefined;
  stream: boolean;
  ignoreEos: boolean;
  sloTtftMs: number | undefined;
  sloTpotMs: number | undefined;
  seed: number;
  output: string | undefined;
  html: string | undefined;
  progress: boolean;
  serviceTier: string | undefined;
}

export const BENCH_LOAD_HELP = `usage: llm-inference bench load --api-key KEY [--url http://127.0.0.1:8000]
    [--requests 100] [--concurrency 8] [--rate R] [--max-seconds 600]
    [--input-len 32 --output-len 32 | --dataset prompts.jsonl] [--stream] [--no-ignore-eos]
    [--endpoint chat|completions|embeddings] [--model M] [--service-tier priority|default|flex]
    [--slo-ttft MS] [--slo-tpot MS] [--seed N] [--output results.json] [--html report.html]
    [--no-progress] [--allow-remote]`;

function positiveFlag(args: ParsedArgs, name: string): number | undefined {
  const raw = stringFlag(args, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number (got ${raw})`);
  return n;
}

/** True for localhost, 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./.test(host);
  return false;
}

export function parseLoadOptions(args: ParsedArgs): LoadOptions {
  const target = targetFromArgs(args);
  const host = new URL(target.baseUrl).hostname;
  if (!isLoopbackHost(host) && args.flags['allow-remote'] !== true) {
    throw new UsageError(
      `refusing to load-test ${host}: not a loopback address. Pass --allow-remote if you own that server.`,
    );
  }
  const dataset = stringFlag(args, 'dataset');
  if (dataset && (args.flags['input-len'] !== undefined || args.flags['output-len'] !== undefined)) {
    throw new UsageError('give either --dataset or --input-len/--output-len, not both');
  }
  const endpoint = stringFlag(args, 'endpoint') ?? 'chat';
  if (endpoint !== 'chat' && endpoint !== 'completions' && endpoint !== 'embeddings') {
    throw new UsageError(`--endpoint must be chat, completions or embeddings (got ${endpoint})`);
  }
  const slo = (name: string) => positiveFlag(args, name);
  const stream = args.flags.stream === true || args.flags.stream === 'true';
  if (stream && endpoint === 'embeddings')
    throw new UsageError('--stream does not apply to --endpoint embeddings');
  const sloTtftMs = slo('slo-ttft');
  const sloTpotMs = slo('slo-tpot');
  if ((sloTtftMs !== undefined || sloTpotMs !== undefined) && !stream) {
    throw new UsageError(
      '--slo-ttft/--slo-tpot need --stream (time to first token is only seen when streaming)',
    );
  }
  return {
    target,
    model: stringFlag(args, 'model'),
    endpoint,
    requests: intFlag(args, 'requests', 100, 1, 1_000_000),
    concurrency: intFlag(args, 'concurrency', 8, 1, 10_000),
    rate: positiveFlag(args, 'rate') ?? Infinity,
    maxSeconds: positiveFlag(args, 'max-seconds') ?? 600,
    inputLen: intFlag(args, 'input-len', 32, 1, 1_000_000),
    outputLen: intFlag(args, 'output-len', 32, 1, 1_000_000),
    dataset,
    stream,
    ignoreEos: args.flags['no-ignore-eos'] !== true,
    sloTtftMs,
    sloTpotMs,
    seed: intFlag(args, 'seed', 0, 0, 2 ** 31 - 1),
    output: stringFlag(args, 'output'),
    html: stringFlag(args, 'html'),
    progress: args.flags['no-progress'] !== true,
    serviceTier: stringFlag(args, 'service-tier'),
  };
}
