/**
 * Gateway throughput with metering on vs off (METERING_ENABLED), same replica setup otherwise:
 * two real gateway processes (Postgres, Redis, ApiKeyGuard + RequestRateGuard + reserve/commit,
 * the native engine on the tiny model, CPU, one thread) serving the real POST /v1/completions
 * with max_tokens 1 (the shortest inference, so metering's share is as large as it gets), driven
 * by `--concurrency` fetch clients for `--seconds` per run; only one replica is driven at a time,
 * runs alternate on/off (the order flips each round) `--rounds` times and the medians are compared.
 *
 *   node -r ./test/e2e/metering-support/register-ts.cjs bench/metering-overhead.ts [--seconds 6] [--rounds 5] [--concurrency 16]
 * Prints one JSON object (results format: { bench, runs[], median_rps, overhead_pct,
 * median_cpu_us_per_req, cpu_overhead_pct }): req/s, and the gateway process's CPU time per
 * request (read from /proc), which other load on a shared machine disturbs far less than req/s;
 * and metering's own CPU per event (bench/metering-record-cost.ts) as a share of a request's CPU.
 */
import { loadavg } from 'node:os';
import { Cluster, http, MODEL } from '../test/e2e/metering-support/cluster';
import { meteringCpuPerEvent, processCpuMs } from './metering-record-cost';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

async function drive(baseUrl: string, key: string, seconds: number, concurrency: number, pid?: number) {
  const cpuBefore = pid ? (processCpuMs(pid) ?? 0) : 0;
  const until = Date.now() + seconds * 1000;
  let ok = 0;
  let failed = 0;
  const latencies: number[] = [];
  const worker = async () => {
    while (Date.now() < until) {
      const t0 = performance.now();
      const r = await http(baseUrl, 'POST', '/v1/completions', {
        auth: key,
        body: { model: MODEL, prompt: 'The quick brown fox', max_tokens: 1, temperature: 0 },
      });
      latencies.push(performance.now() - t0);
      if (r.status === 200) ok += 1;
      else failed += 1;
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  latencies.sort((a, b) => a - b);
  const cpu = pid ? (processCpuMs(pid) ?? 0) - cpuBefore : 0;
  return {
    rps: ok / ((Date.now() - started) / 1000),
    ok,
    failed,
    /** The gateway process's CPU time per successful request (less sensitive to other load than req/s). */
    cpu_us_per_req: ok ? (cpu * 1000) / ok : 0,
    p50_ms: latencies[Math.floor(latencies.length / 2)] ?? 0,
    p99_ms: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const seconds = arg('seconds', 6);
  const rounds = arg('rounds', 5);
  const concurrency = arg('concurrency', 16);
  const loadBefore = loadavg().map((x) => +x.toFixed(2));
  const cluster = await Cluster.create('bench_metering');
  try {
    const setup = await cluster.replica();
    const tenant = await cluster.tenantWithKey(setup.baseUrl, 'bench');
    await http(setup.baseUrl, 'PUT', `/admin/tenants/${tenant.tenantId}/quota`, {
      auth: cluster.adminToken(),
      body: { requests_per_minute: 100_000_000, max_concurrent: 100_000, tokens_per_minute: 2_000_000_000 },
    });
    await setup.stop();
    const on = await cluster.replica({ METERING_ENABLED: 'true' });
    const off = await cluster.replica({ METERING_ENABLED: 'false' });
    await drive(on.baseUrl, tenant.key, 2, concurrency); // warm-up
    await drive(off.baseUrl, tenant.key, 2, concurrency);
    const runs: {
      metering: 'on' | 'off';
      rps: number;
      ok: number;
      failed: number;
      p50_ms: number;
      p99_ms: number;
      cpu_us_per_req: number;
    }[] = [];
    for (let i = 0; i < rounds; i++) {
      const order =
        i % 2
          ? ([
              ['off', off],
              ['on', on],
            ] as const)
          : ([
              ['on', on],
              ['off', off],
            ] as const);
      for (const [label, replica] of order)
        runs.push({
          metering: label,
          ...(await drive(replica.baseUrl, tenant.key, seconds, concurrency, replica.proc.pid)),
        });
    }
    const [events] = await cluster.query<{ n: string }>(
      'SELECT count(*) AS n FROM usage_events WHERE tenant_id = $1',
      [tenant.tenantId],
    );
    const onRps = median(runs.filter((r) => r.metering === 'on').map((r) => r.rps));
    const offRps = median(runs.filter((r) => r.metering === 'off').map((r) => r.rps));
    const recordCost = await meteringCpuPerEvent(cluster.db.url, arg('events', 20_000));
    const onCpu = median(runs.filter((r) => r.metering === 'on').map((r) => r.cpu_us_per_req));
    const offCpu = median(runs.filter((r) => r.metering === 'off').map((r) => r.cpu_us_per_req));
    process.stdout.write(
      JSON.stringify(
        {
          bench: 'metering-overhead',
          route: 'POST /v1/completions (tiny model, max_tokens 1)',
          seconds,
          rounds,
          concurrency,
          loadavg_before_after: [loadBefore, loadavg().map((x) => +x.toFixed(2))],
          runs: runs.map((r) => ({
            ...r,
            rps: Math.round(r.rps),
            p50_ms: +r.p50_ms.toFixed(2),
            p99_ms: +r.p99_ms.toFixed(2),
            cpu_us_per_req: Math.round(r.cpu_us_per_req),
          })),
          median_rps: { on: Math.round(onRps), off: Math.round(offRps) },
          overhead_pct: +(((offRps - onRps) / offRps) * 100).toFixed(2),
          median_cpu_us_per_req: { on: Math.round(onCpu), off: Math.round(offCpu) },
          cpu_overhead_pct: +(((onCpu - offCpu) / offCpu) * 100).toFixed(2),
          // In-process metering CPU per event against the gateway's CPU per request with metering off.
          metering_cpu_per_event: recordCost,
          record_cost_pct_of_request: +((recordCost.cpu_us_per_event / offCpu) * 100).toFixed(2),
          usage_events_written: Number(events.n),
        },
        null,
        2,
      ) + '\n',
    );
  } finally {
    await cluster.close();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
