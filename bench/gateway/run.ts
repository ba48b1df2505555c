/**
 * Gateway overhead benchmark (`npm run bench:gateway`): the full stack (a real gateway process:
 * API-key auth, RequestRateGuard, quota reserve/commit, lane scheduler, metering into Postgres,
 * pino request logs) serving /v1/chat/completions with the tiny model and max_tokens 1, against
 * the same prompt token ids sent straight to a NativeEngineProvider in-process. Closed loop at
 * --concurrency (default 64), runs alternate engine/gateway for --rounds; medians reported.
 * With --rate R[,R...] an open loop instead: Poisson arrivals at R req/s (the same seeded schedule
 * for both sides), at most --concurrency in flight, latency from the scheduled arrival; one row
 * per rate. Afterwards every successful gateway request must be in usage_events.
 *
 *   npm run bench:gateway -- [--seconds 5] [--rounds 3] [--concurrency 64] [--output results.json]
 *                              [--distinct-prompts]   (a different message per request: no prompt-cache hits)
 *                              [--rate 250,500,1000,2000] [--seed 1]   (open loop; table on stderr)
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { mintAdminToken } from '@app/auth';
import { NativeEngineProvider } from '@app/engine';
import { createTestDatabase } from '../../test/helpers/test-database';
import { ensureModel } from '../../test/e2e/support/inference-app';
import { percentile } from '../../apps/cli/src/commands/bench/stats';
import { poissonArrivals } from './arrivals';
import { driveEngine, driveHttp, DriveResult, Load } from './drivers';

const ROOT = resolve(__dirname, '..', '..');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
function strArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
/** --rate 250,500: the open-loop rates in req/s, or undefined for the closed loop. */
function rateArg(): number[] | undefined {
  const text = strArg('rate');
  if (text === undefined) return undefined;
  const rates = text.split(',').map(Number);
  if (rates.some((r) => !(r > 0))) throw new Error(`--rate wants positive numbers, got ${text}`);
  return rates;
}
/** CPU time (user + system, ms) used so far by a process, or by one of its threads (Linux /proc). */
function cpuMs(pid: number, tid?: number): number {
  const path = tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`;
  const fields = readFileSync(path, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in 100 Hz ticks
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const r2 = (x: number) => Math.round(x * 100) / 100;

async function json(url: string, method: string, token: string, body?: unknown) {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return JSON.parse(text);
}

function startGateway(env: Record<string, string>, logFile: string) {
  const proc = spawn(
    process.execPath,
    [
      // e.g. GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the gateway process
      ...(process.env.GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean),
      '-r',
      join(ROOT, 'test/e2e/metering-support/register-ts.cjs'),
      join(__dirname, 'server.ts'),
    ],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', ...env },
      stdio: ['ignore', openSync(logFile, 'w'), 'pipe'],
    },
  );
  let err = '';
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const port = new Promise<number>((resolvePort, reject) => {
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /READY (\d+)/.exec(err);
      if (m) resolvePort(Number(m[1]));
    });
    proc.once('exit', (code) => reject(new Error(`gateway exited with ${code}:\n${err}`)));
  });
  return {
    port,
    pid: proc.pid!,
    async stop() {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

function row(kind: 'engine' | 'gateway', round: number, r: DriveResult) {
  return {
    kind,
    round,
    requests: r.ok,
    errors: r.errors,
    rps: Math.round(r.rps),
    p50_ms: r2(percentile(r.latencies, 50)),
    p99_ms: r2(percentile(r.latencies, 99)),
  };
}

type Row = ReturnType<typeof row> & {
  rate?: number;
  dropped?: number;
  client_cpu_cores?: number;
  gateway_cpu?: { process_us_per_req: number; js_thread_us_per_req: number };
};

/** Medians over the rounds of one set of runs (the closed loop, or one open-loop rate). */
function summarize(runs: Row[]) {
  const of = (kind: string) => runs.filter((r) => r.kind === kind);
  const added = (k: 'p50_ms' | 'p99_ms') =>
    r2(median(of('gateway').map((g) => g[k] - of('engine').find((e) => e.round === g.round)![k])));
  return {
    engine: {
      rps: median(of('engine').map((r) => r.rps)),
      p50_ms: median(of('engine').map((r) => r.p50_ms)),
      p99_ms: median(of('engine').map((r) => r.p99_ms)),
    },
    gateway: {
      rps: median(of('gateway').map((r) => r.rps)),
      p50_ms: median(of('gateway').map((r) => r.p50_ms)),
      p99_ms: median(of('gateway').map((r) => r.p99_ms)),
    },
    gateway_cpu_us_per_req: median(of('gateway').map((r) => r.gateway_cpu!.process_us_per_req)),
    gateway_js_thread_us_per_req: median(of('gateway').map((r) => r.gateway_cpu!.js_thread_us_per_req)),
    added_latency_p50_ms: added('p50_ms'),
    added_latency_p99_ms: added('p99_ms'),
  };
}

const errorCount = (runs: Row[]) =>
  runs.reduce((n, r) => n + Object.values(r.errors).reduce((a, b) => a + b, 0), 0);

/** Per open-loop rate: the medians, plus drops and errors summed over the rounds. */
function openLoopSummary(runs: Row[], rates: number[]) {
  return rates.map((rate) => {
    const own = runs.filter((r) => r.rate === rate);
    const dropped = (kind: string) => own.filter((r) => r.kind === kind).reduce((n, r) => n + r.dropped!, 0);
    return {
      rate,
      ...summarize(own),
      dropped: { engine: dropped('engine'), gateway: dropped('gateway') },
      errors: errorCount(own),
    };
  });
}

/** The open-loop rows as a markdown table (for docs/performance.md), on stderr beside the JSON. */
function openLoopTable(summary: ReturnType<typeof openLoopSummary>): string {
  const lines = [
    '| rate req/s | engine req/s (p50 / p99 ms) | gateway req/s (p50 / p99 ms) | added p50 / p99 ms | dropped (engine / gateway) | errors |',
    '| ---------: | --------------------------: | ---------------------------: | -----------------: | -------------------------: | -----: |',
  ];
  for (const s of summary) {
    const side = (x: { rps: number; p50_ms: number; p99_ms: number }) =>
      `${x.rps} (${x.p50_ms} / ${x.p99_ms})`;
    lines.push(
      `| ${s.rate} | ${side(s.engine)} | ${side(s.gateway)} | ${s.added_latency_p50_ms} / ${s.added_latency_p99_ms} | ` +
        `${s.dropped.engine} / ${s.dropped.gateway} | ${s.errors} |`,
    );
  }
  return lines.join('\n') + '\n';
}

async function main() {
  const seconds = arg('seconds', 5);
  const rounds = arg('rounds', 3);
  const concurrency = arg('concurrency', 64);
  const rates = rateArg();
  const seed = arg('seed', 1);
  const modelPath = ensureModel('tiny-llama');
  const db = await createTestDatabase('bench_gateway');
  const dataDir = mkdtempSync(join(tmpdir(), 'llm-bench-gw-'));
  chmodSync(dataDir, 0o755);
  const secret = randomBytes(32).toString('hex');
  const gw = startGateway(
    {
      DATABASE_URL: db.url,
      ADMIN_JWT_SECRET: secret,
      DATA_DIR: dataDir,
      MODEL_PATH: modelPath,
      MODEL_NAME: 'tiny-llama',
      MAX_NUM_SEQS: String(concurrency),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      DOCS_ENABLED: 'false',
      // GATEWAY_ENV="NAME=value ...": more settings for the gateway (e.g. METERING_MARKER_DELAY_MS=0).
      ...Object.fromEntries(
        (process.env.GATEWAY_ENV ?? '')
          .split(' ')
          .filter((kv) => kv.includes('='))
          .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      ),
    },
    join(dataDir, 'gateway.log'),
  );
  let engine: NativeEngineProvider | undefined;
  try {
    const base = `http://127.0.0.1:${await gw.port}`;
    const admin = mintAdminToken({ secret, sub: 'bench', role: 'admin', ttlSeconds: 3600 });
    const tenant = await json(`${base}/admin/tenants`, 'POST', admin, { name: 'bench' });
    const key = await json(`${base}/admin/tenants/${tenant.id}/keys`, 'POST', admin, { name: 'bench' });
    await json(`${base}/admin/tenants/${tenant.id}/quota`, 'PUT', admin, {
      requests_per_minute: 100_000_000,
      tokens_per_minute: 2_000_000_000,
      max_concurrent: 100_000,
    });
    const messages = [{ role: 'user', content: 'Hello!' }];
    const body = { model: 'tiny-llama', messages, max_tokens: 1, temperature: 0 };
    // --distinct-prompts: every gateway request has its own message text, so the prompt cache
    // never hits (the template render + tokenizer run on each request).
    const distinct = process.argv.includes('--distinct-prompts');
    const bodyFor = (n: number) => ({
      ...body,
      messages: [{ role: 'user', content: `Hello! ${n % 100000}` }],
    });
    const { tokens } = await json(`${base}/tokenize`, 'POST', key.key, { model: 'tiny-llama', messages });
    engine = new NativeEngineProvider({ modelPath, maxNumSeqs: concurrency, threads: 1, device: 'cpu' });

    const url = `${base}/v1/chat/completions`;
    let gatewayOk = 0;
    let clientCpu = 0; // CPU cores the load client itself used (the same cores as the gateway)
    // The gateway's CPU time per request, whole process and its JS (main) thread alone: less
    // disturbed by other load on a shared machine than req/s.
    let gwCpu = { process_us_per_req: 0, js_thread_us_per_req: 0 };
    const gatewayRun = async (load: Load) => {
      const cpu0 = process.cpuUsage();
      const [proc0, js0] = [cpuMs(gw.pid), cpuMs(gw.pid, gw.pid)];
      const r = await driveHttp(url, key.key, distinct ? bodyFor : body, load);
      const cpu = process.cpuUsage(cpu0);
      const perReq = (ms: number) => (r.ok ? Math.round((ms * 1000) / r.ok) : 0);
      gwCpu = {
        process_us_per_req: perReq(cpuMs(gw.pid) - proc0),
        js_thread_us_per_req: perReq(cpuMs(gw.pid, gw.pid) - js0),
      };
      clientCpu = (cpu.user + cpu.system) / 1e6 / r.seconds;
      gatewayOk += r.ok;
      return r;
    };
    const engineRun = (load: Load) => driveEngine(engine!, tokens as number[], 1, load);
    const closed: Load = { seconds, concurrency };
    // Warm-up (JIT, connections, key cache, engine buffers); counted for the usage check only.
    await engineRun(closed);
    await gatewayRun(closed);
    // One round: engine and gateway under the same load, the order alternating between rounds.
    const round = async (i: number, load: Load, extra: { rate?: number } = {}) => {
      const order = i % 2 ? (['engine', 'gateway'] as const) : (['gateway', 'engine'] as const);
      const out: Row[] = [];
      for (const kind of order) {
        const r = kind === 'engine' ? await engineRun(load) : await gatewayRun(load);
        const base = {
          ...extra,
          ...row(kind, i, r),
          ...(r.dropped === undefined ? {} : { dropped: r.dropped }),
        };
        out.push(kind === 'engine' ? base : { ...base, client_cpu_cores: r2(clientCpu), gateway_cpu: gwCpu });
      }
      return out;
    };
    const runs: Row[] = [];
    for (const rate of rates ?? [undefined]) {
      for (let i = 1; i <= rounds; i++) {
        // the same arrivals for both sides of a round, another draw per round
        const load =
          rate === undefined ? closed : { ...closed, arrivals: poissonArrivals(rate, seconds, seed + i) };
        runs.push(...(await round(i, load, rate === undefined ? {} : { rate })));
      }
    }
    // Engine steps per gateway request (llm_iteration_tokens_total counts one per step): how well
    // requests that arrive together share a step.
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const steps = Number(/^llm_iteration_tokens_total_count\{[^}]*\} (\d+)/m.exec(metrics)?.[1] ?? NaN);
    await engine.close();
    engine = undefined;
    await gw.stop(); // graceful: metering flushes what it queued
    const c = new Client({ connectionString: db.url });
    await c.connect();
    const events = Number(
      (await c.query('SELECT count(*) AS n FROM usage_events WHERE tenant_id = $1', [tenant.id])).rows[0].n,
    );
    await c.end();

    const errors = errorCount(runs);
    const open = rates && openLoopSummary(runs, rates);
    const result = {
      bench: 'gateway-overhead',
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        cpu_model: cpus()[0]?.model,
        loadavg_1m: r2(loadavg()[0]),
        node: process.version,
      },
      seconds,
      rounds,
      concurrency,
      distinct_prompts: distinct,
      ...(open ? { mode: 'open-loop', seed } : {}),
      runs,
      ...(open ? { open_loop: open } : { median: summarize(runs) }),
      errors,
      gateway_requests_ok: gatewayOk,
      gateway_engine_steps_per_request: r2(steps / gatewayOk),
      usage_events: events,
      usage_events_match: events === gatewayOk,
    };
    const text = JSON.stringify(result, null, 2) + '\n';
    process.stdout.write(text);
    if (open) process.stderr.write(openLoopTable(open));
    const out = strArg('output');
    if (out) writeFileSync(out, text);
    if (errors > 0 || events !== gatewayOk) process.exitCode = 1;
  } finally {
    await engine?.close();
    await gw.stop().catch(() => undefined);
    await db.drop().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
