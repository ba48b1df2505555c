/**
 * `llm-inference bench load` against a running gateway (real Postgres, native engine, tiny model):
 * the results file's counts and token sums match the usage events the server metered; the HTML
 * report is self-contained; bad targets fail with clear errors and exit codes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { InferenceApp, startInferenceApp } from './support/inference-app';
import { closedPort, runCli } from './support/cli-process';

jest.setTimeout(120_000);

let app: InferenceApp;
let tenantId: string;
let dir: string;

async function usageTotals(): Promise<{ n: number; completion: number; prompt: number }> {
  const c = new Client({ connectionString: app.db.url });
  await c.connect();
  try {
    const r = await c.query(
      `SELECT count(*)::int AS n, coalesce(sum(completion_tokens),0)::int AS completion,
              coalesce(sum(prompt_tokens),0)::int AS prompt
         FROM usage_events WHERE tenant_id = $1`,
      [tenantId],
    );
    return r.rows[0];
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  app = await startInferenceApp('bench_load');
  const me = await app.request('GET', '/v1/models', { apiKey: app.apiKey });
  expect(me.status).toBe(200);
  const c = new Client({ connectionString: app.db.url });
  await c.connect();
  tenantId = (await c.query('SELECT tenant_id FROM api_keys LIMIT 1')).rows[0].tenant_id;
  await c.end();
  const put = await app.request('PUT', `/admin/tenants/${tenantId}/quota`, {
    token: app.token('admin'),
    body: { requests_per_minute: 100_000, max_concurrent: 1_000, tokens_per_minute: 100_000_000 },
  });
  expect(put.status).toBe(200);
  dir = mkdtempSync(join(tmpdir(), 'bench-load-'));
});

afterAll(async () => {
  await app?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('results file counts match the server usage events; the HTML report is self-contained', async () => {
  const out = join(dir, 'results.json');
  const html = join(dir, 'report.html');
  const r = await runCli([
    'bench',
    'load',
    '--url',
    app.baseUrl,
    '--api-key',
    app.apiKey,
    '--requests',
    '40',
    '--concurrency',
    '4',
    '--rate',
    '200',
    '--stream',
    '--input-len',
    '48',
    '--output-len',
    '12',
    '--slo-ttft',
    '10000',
    '--slo-tpot',
    '10000',
    '--output',
    out,
    '--html',
    html,
  ]);
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
  expect(r.stderr).toContain('Time to First Token');
  const result = JSON.parse(readFileSync(out, 'utf8'));
  expect(result.summary.requests).toMatchObject({ total: 40, completed: 40, failed: 0, not_sent: 0 });
  expect(result.requests).toHaveLength(40);
  expect(result.summary.output_tokens).toBe(40 * 12); // ignore_eos: exactly --output-len each
  for (const k of ['ttft_ms', 'tpot_ms', 'itl_ms', 'e2e_ms']) {
    const d = result.summary[k];
    expect(d.count).toBeGreaterThan(0);
    expect(d.p50).toBeLessThanOrEqual(d.p90);
    expect(d.p90).toBeLessThanOrEqual(d.p99);
  }
  expect(result.summary.goodput.requests).toBe(40);
  // Prompt length calibrated with /tokenize: within 10 % of --input-len.
  expect(Math.abs(result.summary.prompt_tokens / 40 - 48)).toBeLessThan(5);

  // Metering writes in batches: wait until every request is there, then compare.
  let usage = await usageTotals();
  for (let i = 0; i < 50 && usage.n < 40; i++) {
    await new Promise((res) => setTimeout(res, 200));
    usage = await usageTotals();
  }
  expect(usage).toEqual({
    n: result.summary.requests.completed,
    completion: result.summary.output_tokens,
    prompt: result.summary.prompt_tokens,
  });

  const page = readFileSync(html, 'utf8');
  expect(page).toMatch(/^<!doctype html>/);
  expect(page.match(/<svg /g)?.length).toBe(5); // 4 histograms + throughput over time
  expect(page).toContain('Throughput over time');
  expect(page).not.toMatch(/<script|src=["']http|href=["']http/); // nothing to fetch
});

test('--endpoint embeddings: one embedding request each, billed as embedding prompt tokens', async () => {
  const embeddings = async () => {
    const c = new Client({ connectionString: app.db.url });
    await c.connect();
    try {
      const q = await c.query(
        `SELECT count(*)::int AS n, coalesce(sum(prompt_tokens),0)::int AS prompt
           FROM usage_events WHERE tenant_id = $1 AND kind = 'embedding'`,
        [tenantId],
      );
      return q.rows[0] as { n: number; prompt: number };
    } finally {
      await c.end();
    }
  };
  const args = ['bench', 'load', '--url', app.baseUrl, '--api-key', app.apiKey, '--endpoint', 'embeddings'];
  const r = await runCli([...args, '--requests', '8', '--concurrency', '4', '--input-len', '24']);
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
  const result = JSON.parse(r.stdout);
  expect(result.summary.requests).toMatchObject({ total: 8, completed: 8, failed: 0 });
  expect(result.summary.output_tokens).toBe(0);
  let usage = await embeddings();
  for (let i = 0; i < 50 && usage.n < 8; i++) {
    await new Promise((res) => setTimeout(res, 200));
    usage = await embeddings();
  }
  expect(usage).toEqual({ n: 8, prompt: result.summary.prompt_tokens });
  const streamed = await runCli([...args, '--stream']);
  expect(streamed.code).toBe(2);
  expect(streamed.stderr).toMatch(/--stream does not apply to --endpoint embeddings/);
});

test('non-stream run with a dataset; the time bound stops a run', async () => {
  const dataset = join(dir, 'prompts.jsonl');
  writeFileSync(
    dataset,
    [
      '{"prompt":"one two","max_tokens":3}',
      '{"messages":[{"role":"user","content":"hi"}],"max_tokens":2}',
    ].join('\n'),
  );
  const r = await runCli([
    'bench',
    'load',
    '--url',
    app.baseUrl,
    '--api-key',
    app.apiKey,
    '--requests',
    '6',
    '--concurrency',
    '2',
    '--dataset',
    dataset,
  ]);
  expect(r.code).toBe(0);
  const result = JSON.parse(r.stdout);
  expect(result.summary.requests.completed).toBe(6);
  expect(result.summary.output_tokens).toBe(3 * 3 + 3 * 2);
  expect(result.summary.ttft_ms).toBeNull(); // not streamed: no TTFT

  const slow = await runCli([
    'bench',
    'load',
    '--url',
    app.baseUrl,
    '--api-key',
    app.apiKey,
    '--requests',
    '100000',
    '--concurrency',
    '2',
    '--rate',
    '20',
    '--output-len',
    '4',
    '--max-seconds',
    '1.5',
    '--no-progress',
  ]);
  expect(slow.code).toBe(0);
  const bounded = JSON.parse(slow.stdout);
  expect(bounded.timed_out).toBe(true);
  expect(bounded.summary.requests.not_sent).toBeGreaterThan(99_000);
  expect(bounded.summary.duration_s).toBeLessThan(5);
});

test('bad targets and arguments: clear errors, non-zero exit codes', async () => {
  const remote = await runCli(['bench', 'load', '--url', 'http://192.0.2.1:8000', '--api-key', 'x']);
  expect(remote.code).toBe(2);
  expect(remote.stderr).toContain('--allow-remote');

  const port = await closedPort();
  const down = await runCli(['bench', 'load', '--url', `http://127.0.0.1:${port}`, '--api-key', 'x']);
  expect(down.code).toBe(1);
  expect(down.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);

  const bad = await runCli([
    'bench',
    'load',
    '--url',
    app.baseUrl,
    '--api-key',
    app.apiKey,
    '--requests',
    'lots',
  ]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--requests must be an integer');

  const wrongKey = await runCli([
    'bench',
    'load',
    '--url',
    app.baseUrl,
    '--api-key',
    'sk-nope',
    '--requests',
    '2',
    '--model',
    'tiny-llama',
  ]);
  expect(wrongKey.code).toBe(1);
  expect(wrongKey.stderr).toContain('every request failed ({"401":2})');
});
