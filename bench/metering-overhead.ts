/**
 * Gateway throughput with metering on vs off (METERING_ENABLED), same replica setup otherwise:
 * a real gateway process (Postgres, Redis, ApiKeyGuard + RequestRateGuard + reserve/commit)
 * serving the quota probe route, driven by `--concurrency` fetch clients for `--seconds` per
 * run; runs alternate on/off `--rounds` times and the medians are compared.
 *
 *   node -r ./test/e2e/metering-support/register-ts.cjs bench/metering-overhead.ts [--seconds 8] [--rounds 3] [--concurrency 16]
 * Prints one JSON object (results format: { bench, runs[], median_rps, overhead_pct }).
 */
import { Cluster, http } from '../test/e2e/metering-support/cluster';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

async function drive(baseUrl: string, key: string, seconds: number, concurrency: number) {
  const until = Date.now() + seconds * 1000;
  let ok = 0;
  let failed = 0;
  const latencies: number[] = [];
  const worker = async () => {
    while (Date.now() < until) {
      const t0 = performance.now();
      const r = await http(baseUrl, 'POST', '/test/quota-probe', {
        auth: key,
        body: { prompt_tokens: 20, max_tokens: 16 },
      });
      latencies.push(performance.now() - t0);
      if (r.status === 200) ok += 1;
      else failed += 1;
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  latencies.sort((a, b) => a - b);
  return {
    rps: ok / ((Date.now() - started) / 1000),
    ok,
    failed,
    p50_ms: latencies[Math.floor(latencies.length / 2)] ?? 0,
    p99_ms: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const seconds = arg('seconds', 8);
  const rounds = arg('rounds', 3);
  const concurrency = arg('concurrency', 16);
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
        runs.push({ metering: label, ...(await drive(replica.baseUrl, tenant.key, seconds, concurrency)) });
    }
    const [events] = await cluster.query<{ n: string }>(
      'SELECT count(*) AS n FROM usage_events WHERE tenant_id = $1',
      [tenant.tenantId],
    );
    const onRps = median(runs.filter((r) => r.metering === 'on').map((r) => r.rps));
    const offRps = median(runs.filter((r) => r.metering === 'off').map((r) => r.rps));
    process.stdout.write(
      JSON.stringify(
        {
          bench: 'metering-overhead',
          seconds,
          rounds,
          concurrency,
          runs: runs.map((r) => ({
            ...r,
            rps: Math.round(r.rps),
            p50_ms: +r.p50_ms.toFixed(2),
            p99_ms: +r.p99_ms.toFixed(2),
          })),
          median_rps: { on: Math.round(onRps), off: Math.round(offRps) },
          overhead_pct: +(((offRps - onRps) / offRps) * 100).toFixed(2),
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
