/**
 * What bulk work costs interactive users (`npm run bench:batches`): a probe of streamed chat
 * requests (the interactive user) measured alone, beside a server-side batch (/v1/batches, batch
 * lane), and beside the same bulk requests sent by a client at --bulk-concurrency in flight in the
 * standard lane (the peer: what a team without a Batch API does, e.g. `llm-inference batch`).
 * The server is bench/load/serve-tiny.ts (real gateway, Postgres, native engine, tiny model, one
 * engine thread) in its own process. Reports probe TTFT / end-to-end percentiles and the bulk
 * work's output tokens/s during the probe, per mode; JSON on stdout, a markdown table on stderr.
 *
 *   npm run bench:batches -- [--probe-requests 40] [--probe-tokens 32] [--bulk-tokens 128]
 *                            [--bulk-concurrency 16] [--rounds 3] [--output results.json]
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { ServerTarget, send } from '../../apps/cli/src/commands/chat-stream';
import { runLoad } from '../../apps/cli/src/commands/bench/runner';
import { distribution } from '../../apps/cli/src/commands/bench/stats';
import { syntheticWorkload } from '../../apps/cli/src/commands/bench/workload';

const ROOT = resolve(__dirname, '..', '..');
const MODEL = 'tiny-llama';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
/** The knobs, read once. */
const opts = {
  probeRequests: arg('probe-requests', 40),
  probeTokens: arg('probe-tokens', 32),
  bulkTokens: arg('bulk-tokens', 128),
  bulkConcurrency: arg('bulk-concurrency', 16),
  rounds: arg('rounds', 3),
  maxNumSeqs: arg('max-num-seqs', 16),
};
const outputPath = (() => {
  const i = process.argv.indexOf('--output');
  return i > 0 ? process.argv[i + 1] : undefined;
})();

/** Starts serve-tiny; resolves with its URL and API key once it prints READY. */
function startServer(maxNumSeqs: number) {
  const proc = spawn(
    process.execPath,
    [
      '-r',
      join(ROOT, 'test/e2e/metering-support/register-ts.cjs'),
      join(ROOT, 'bench/load/serve-tiny.ts'),
      '--max-num-seqs',
      String(maxNumSeqs),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const ready = new Promise<ServerTarget>((res, rej) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\S+) (\S+)/.exec(out);
      if (m) res({ baseUrl: m[1], apiKey: m[2] });
    });
    proc.once('exit', (code) => rej(new Error(`serve-tiny exited with ${code}`)));
  });
  return {
    ready,
    async stop() {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

async function post<T>(target: ServerTarget, path: string, body: unknown): Promise<T> {
  const res = await send(target, 'POST', path, body);
  if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

const bulkBody = (i: number, tokens: number) => ({
  model: MODEL,
  messages: [{ role: 'user', content: `Bulk item ${i}: summarize the quarterly report.` }],
  max_tokens: tokens,
  ignore_eos: true,
  temperature: 0,
});

type Batch = { id: string; status: string; request_counts: { completed: number } };

/** A server-side batch of `lines` bulk requests; resolves once it runs. */
async function startBatch(target: ServerTarget, lines: number, tokens: number) {
  const text = Array.from({ length: lines }, (_, i) =>
    JSON.stringify({
      custom_id: `b${i}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: bulkBody(i, tokens),
    }),
  ).join('\n');
  const form = new FormData();
  form.append('purpose', 'batch');
  form.append('file', new Blob([text]), 'bulk.jsonl');
  const up = await fetch(`${target.baseUrl}/v1/files`, {
    method: 'POST',
    headers: { authorization: `Bearer ${target.apiKey}` },
    body: form,
  });
  if (!up.ok) throw new Error(`upload: ${up.status} ${await up.text()}`);
  const file = (await up.json()) as { id: string };
  const batch = await post<Batch>(target, '/v1/batches', {
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  });
  const get = async () => (await (await send(target, 'GET', `/v1/batches/${batch.id}`)).json()) as Batch;
  // Running, with its lines in the engine.
  while ((await get()).request_counts.completed < 16) await new Promise((r) => setTimeout(r, 50));
  return {
    completed: async () => (await get()).request_counts.completed,
    cancel: () => post(target, `/v1/batches/${batch.id}/cancel`, {}),
  };
}

/** The peer: `concurrency` client loops sending bulk requests in the standard lane until stopped. */
function startClientBulk(target: ServerTarget, concurrency: number, tokens: number) {
  let stop = false;
  let completed = 0;
  let next = 0;
  const loops = Array.from({ length: concurrency }, async () => {
    while (!stop) {
      const res = await send(target, 'POST', '/v1/chat/completions', bulkBody(next++, tokens));
      await res.text();
      if (res.ok && !stop) completed++;
    }
  });
  return {
    completed: async () => completed,
    stop: async () => {
      stop = true;
      await Promise.all(loops);
    },
  };
}

async function probe(target: ServerTarget, requests: number, tokens: number, seed: number) {
  const { items } = await syntheticWorkload(target, MODEL, 'chat', requests, 64, tokens, seed);
  const settings = { target, model: MODEL, endpoint: 'chat' as const, stream: true, ignoreEos: true };
  const run = await runLoad(settings, items, { concurrency: 1, rate: Infinity, maxSeconds: 600, seed });
  const ok = run.records.filter((r) => r.ok);
  return {
    seconds: run.durationMs / 1000,
    errors: run.records.length - ok.length,
    ttft: distribution(ok.map((r) => r.ttftMs!).filter((x) => x !== null))!,
    e2e: distribution(ok.map((r) => r.e2eMs))!,
  };
}

type Mode = 'alone' | 'server batch (batch lane)' | 'client bulk (standard lane)';

async function measure(target: ServerTarget, mode: Mode, seed: number) {
  const { probeRequests, probeTokens, bulkTokens, bulkConcurrency } = opts;
  const bulk =
    mode === 'alone'
      ? null
      : mode === 'server batch (batch lane)'
        ? await startBatch(target, 20_000, bulkTokens)
        : startClientBulk(target, bulkConcurrency, bulkTokens);
  if (bulk && mode === 'client bulk (standard lane)') await new Promise((r) => setTimeout(r, 500));
  const before = bulk ? await bulk.completed() : 0;
  const p = await probe(target, probeRequests, probeTokens, seed);
  const done = bulk ? (await bulk.completed()) - before : 0;
  if (bulk && 'cancel' in bulk) await bulk.cancel();
  if (bulk && 'stop' in bulk) await bulk.stop();
  // Let a cancelled batch's lines in flight drain before the next mode.
  await new Promise((r) => setTimeout(r, 1500));
  return {
    mode,
    probe_ttft_p50_ms: p.ttft.p50,
    probe_ttft_p99_ms: p.ttft.p99,
    probe_e2e_p50_ms: p.e2e.p50,
    probe_e2e_p99_ms: p.e2e.p99,
    probe_errors: p.errors,
    bulk_output_tok_s: Math.round((done * bulkTokens) / p.seconds),
  };
}

async function main() {
  const server = startServer(opts.maxNumSeqs);
  const target = await server.ready;
  const modes: Mode[] = ['alone', 'server batch (batch lane)', 'client bulk (standard lane)'];
  const runs: Awaited<ReturnType<typeof measure>>[] = [];
  try {
    for (let round = 0; round < opts.rounds; round++)
      for (const mode of modes) {
        const r = await measure(target, mode, round + 1);
        process.stderr.write(`round ${round + 1} ${JSON.stringify(r)}\n`);
        runs.push(r);
      }
  } finally {
    await server.stop();
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const summary = modes.map((mode) => {
    const own = runs.filter((r) => r.mode === mode);
    const m = (k: keyof (typeof own)[number]) => med(own.map((r) => Number(r[k])));
    return {
      mode,
      probe_ttft_p50_ms: m('probe_ttft_p50_ms'),
      probe_ttft_p99_ms: m('probe_ttft_p99_ms'),
      probe_e2e_p50_ms: m('probe_e2e_p50_ms'),
      probe_e2e_p99_ms: m('probe_e2e_p99_ms'),
      bulk_output_tok_s: m('bulk_output_tok_s'),
      probe_errors: own.reduce((n, r) => n + r.probe_errors, 0),
    };
  });
  const table = [
    '| bulk work beside the probe | probe TTFT p50 / p99 ms | probe e2e p50 / p99 ms | bulk output tok/s | probe errors |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...summary.map(
      (s) =>
        `| ${s.mode} | ${s.probe_ttft_p50_ms} / ${s.probe_ttft_p99_ms} | ${s.probe_e2e_p50_ms} / ${s.probe_e2e_p99_ms} | ${s.bulk_output_tok_s} | ${s.probe_errors} |`,
    ),
  ].join('\n');
  const result = {
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model },
    settings: opts,
    summary,
    runs,
  };
  process.stderr.write(`\n${table}\n`);
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  if (outputPath) writeFileSync(outputPath, JSON.stringify(result, null, 2));
}

main().catch((err) => {
  process.stderr.write(`bench:batches failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
