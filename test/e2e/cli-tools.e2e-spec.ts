/**
 * The `llm-inference` client commands against a running gateway (real Postgres, native engine,
 * tiny model): batch (and its resume after a kill -9), chat driven through a pseudo-terminal
 * (tmux) with a scripted conversation, models list / inspect, and their errors.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { ensureModel, InferenceApp, startInferenceApp } from './support/inference-app';
import { CLI_ARGS, closedPort, runCli } from './support/cli-process';

jest.setTimeout(120_000);

let app: InferenceApp;
let tenantId: string;
let dir: string;

async function usageRows(): Promise<{ prompt_tokens: number; completion_tokens: number }[]> {
  const c = new Client({ connectionString: app.db.url });
  await c.connect();
  try {
    const r = await c.query(
      'SELECT prompt_tokens, completion_tokens FROM usage_events WHERE tenant_id = $1 ORDER BY started_at',
      [tenantId],
    );
    return r.rows;
  } finally {
    await c.end();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lines = (file: string) =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];

beforeAll(async () => {
  app = await startInferenceApp('cli_tools', {}, { maxNumSeqs: 4 });
  const c = new Client({ connectionString: app.db.url });
  await c.connect();
  tenantId = (await c.query('SELECT tenant_id FROM api_keys LIMIT 1')).rows[0].tenant_id;
  await c.end();
  const put = await app.request('PUT', `/admin/tenants/${tenantId}/quota`, {
    token: app.token('admin'),
    body: { requests_per_minute: 100_000, max_concurrent: 1_000, tokens_per_minute: 100_000_000 },
  });
  expect(put.status).toBe(200);
  dir = mkdtempSync(join(tmpdir(), 'cli-tools-'));
});

afterAll(async () => {
  await app?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('batch', () => {
  const N = 40;
  const input = () => join(dir, 'prompts.jsonl');
  beforeAll(() => {
    const rows = Array.from({ length: N }, (_, i) =>
      JSON.stringify({
        custom_id: `req-${i}`,
        method: 'POST',
        url: i % 4 === 3 ? '/v1/completions' : '/v1/chat/completions',
        body:
          i % 4 === 3
            ? { prompt: `line ${i}`, max_tokens: 48, ignore_eos: true }
            : { messages: [{ role: 'user', content: `line ${i}` }], max_tokens: 48, ignore_eos: true },
      }),
    );
    writeFileSync(input(), rows.join('\n') + '\n');
  });

  test('embeddings lines: one vector per input in the result line', async () => {
    const file = join(dir, 'embed.jsonl');
    const output = join(dir, 'embed-results.jsonl');
    const line = (id: string, input: unknown) =>
      JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/embeddings', body: { input } });
    writeFileSync(file, [line('e-1', 'one text'), line('e-2', ['two', 'texts'])].join('\n') + '\n');
    const run = await runCli([
      'batch',
      '--input',
      file,
      '--output',
      output,
      '--url',
      app.baseUrl,
      '--api-key',
      app.apiKey,
      '--no-progress',
    ]);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    const results = lines(output).map((l) => JSON.parse(l));
    const byId = Object.fromEntries(results.map((r) => [r.custom_id, r]));
    expect(byId['e-1'].response).toMatchObject({ status_code: 200, body: { object: 'list' } });
    expect(byId['e-1'].response.body.data).toHaveLength(1);
    expect(byId['e-2'].response.body.data).toHaveLength(2);
    expect(byId['e-2'].response.body.data[1].embedding.length).toBeGreaterThan(0);
  });

  test('processes a JSONL file; a rerun after kill -9 does only the remaining lines', async () => {
    const output = join(dir, 'results.jsonl');
    const args = [
      'batch',
      '--input',
      input(),
      '--output',
      output,
      '--url',
      app.baseUrl,
      '--api-key',
      app.apiKey,
    ];
    // First run, killed once some lines are written.
    const first = await runCli([...args, '--concurrency', '1'], {
      onSpawn: (kill) => {
        const poll = setInterval(() => {
          if (lines(output).length >= 5) {
            clearInterval(poll);
            kill();
          }
        }, 5);
      },
    });
    expect(first.signal).toBe('SIGKILL');
    const doneBefore = lines(output).length;
    expect(doneBefore).toBeGreaterThanOrEqual(5);
    expect(doneBefore).toBeLessThan(N);

    const second = await runCli([...args, '--concurrency', '4']);
    expect({ code: second.code, stderr: second.stderr }).toEqual({ code: 0, stderr: '' });
    const summary = JSON.parse(second.stdout);
    expect(summary).toMatchObject({
      input: N,
      completed: N - summary.skipped,
      failed_written: 0,
      failed_retryable: 0,
    });
    // Skipped = the complete lines the killed run left (a torn last line is redone).
    expect(summary.skipped).toBeGreaterThanOrEqual(doneBefore - 1);
    expect(summary.skipped).toBeLessThanOrEqual(doneBefore);
    expect(summary.processed).toBe(N - summary.skipped);

    const results = lines(output).map((l) => JSON.parse(l));
    expect(results.map((r) => r.custom_id).sort()).toEqual(
      Array.from({ length: N }, (_, i) => `req-${i}`).sort(),
    );
    for (const r of results) {
      expect(r).toMatchObject({
        id: expect.stringMatching(/^batch_req_/),
        error: null,
        response: { status_code: 200 },
      });
      expect(r.response.body.usage.completion_tokens).toBe(48);
    }
    const chat = results.find((r) => r.custom_id === 'req-0');
    expect(chat.response.body.object).toBe('chat.completion');
    expect(results.find((r) => r.custom_id === 'req-3').response.body.object).toBe('text_completion');

    // A third run has nothing left to do and sends nothing.
    // Every line was metered (the killed run's in-flight request too); let metering settle.
    for (let i = 0; i < 50 && (await usageRows()).length < N; i++) await sleep(200);
    await sleep(1200);
    const before = (await usageRows()).length;
    expect(before).toBeGreaterThanOrEqual(N);
    const third = await runCli(args);
    expect(JSON.parse(third.stdout)).toMatchObject({ skipped: N, processed: 0 });
    await sleep(1200);
    expect((await usageRows()).length).toBe(before);
  });

  test('bad input files and unreachable servers fail clearly', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"custom_id":"a","body":{}}\n{"custom_id":"a","body":{}}\n');
    const dup = await runCli([
      'batch',
      '--input',
      bad,
      '--output',
      join(dir, 'x.jsonl'),
      '--api-key',
      'k',
      '--url',
      app.baseUrl,
    ]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain(`${bad}:2: duplicate custom_id "a"`);

    writeFileSync(bad, '{"custom_id":"a","body":{}}\n{oops\n');
    const broken = await runCli([
      'batch',
      '--input',
      bad,
      '--output',
      join(dir, 'x.jsonl'),
      '--api-key',
      'k',
      '--url',
      app.baseUrl,
    ]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(`${bad}:2: not valid JSON`);

    const missing = await runCli([
      'batch',
      '--input',
      join(dir, 'nope.jsonl'),
      '--output',
      join(dir, 'x.jsonl'),
      '--api-key',
      'k',
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no such file');

    const noOutput = await runCli(['batch', '--input', input(), '--api-key', 'k']);
    expect(noOutput.code).toBe(2);
    expect(noOutput.stderr).toContain('--output is required');

    const port = await closedPort();
    const down = await runCli([
      'batch',
      '--input',
      input(),
      '--output',
      join(dir, 'y.jsonl'),
      '--api-key',
      'k',
      '--url',
      `http://127.0.0.1:${port}`,
    ]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('ECONNREFUSED');
  });
});

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
(hasTmux ? test : test.skip)('chat through a pseudo-terminal (tmux): a scripted conversation', async () => {
  const session = `llmchat${process.pid}`;
  const tmux = (...a: string[]) => execFileSync('tmux', a, { encoding: 'utf8' });
  const screen = () => tmux('capture-pane', '-p', '-J', '-S', '-200', '-t', session);
  const waitFor = async (re: RegExp, timeoutMs = 20_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const s = screen();
      if (re.test(s)) return s;
      if (Date.now() > until) throw new Error(`timed out waiting for ${re} on the screen:\n${s}`);
      await sleep(100);
    }
  };
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const cmd = [
    process.execPath,
    ...CLI_ARGS,
    'chat',
    '--url',
    app.baseUrl,
    '--api-key',
    app.apiKey,
    '--max-tokens',
    '6',
    '--temperature',
    '0',
  ]
    .map(quote)
    .join(' ');
  const before = (await usageRows()).length;
  tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '50', `${cmd}; echo "EXIT=$?"; sleep 60`);
  try {
    await waitFor(/you> $/m);
    tmux('send-keys', '-t', session, '-l', 'Hello, tiny model!');
    tmux('send-keys', '-t', session, 'Enter');
    await waitFor(/assistant> .*\n(.*\n)*you> $/m);
    tmux('send-keys', '-t', session, '-l', 'And a second question');
    tmux('send-keys', '-t', session, 'Enter');
    await waitFor(/assistant>(.*\n)+.*assistant>(.*\n)+you> $/m);
    tmux('send-keys', '-t', session, '-l', '/reset');
    tmux('send-keys', '-t', session, 'Enter');
    await waitFor(/\[conversation cleared\]/);
    tmux('send-keys', '-t', session, '-l', 'Hello, tiny model!');
    tmux('send-keys', '-t', session, 'Enter');
    await waitFor(/(assistant>(.*\n)+){3}you> $/m);
    tmux('send-keys', '-t', session, '-l', '/exit');
    tmux('send-keys', '-t', session, 'Enter');
    const final = await waitFor(/EXIT=\d+/);
    expect(final).toContain('EXIT=0');
    expect(final).toContain('Chatting with tiny-llama');

    // The server saw three chat requests; the second carried the history, the third did not.
    let rows = await usageRows();
    for (let i = 0; i < 30 && rows.length < before + 3; i++) {
      await sleep(200);
      rows = await usageRows();
    }
    const [a, b, c] = rows.slice(before);
    expect(rows.length).toBe(before + 3);
    expect(a.completion_tokens).toBe(6);
    expect(b.prompt_tokens).toBeGreaterThan(a.prompt_tokens + 6);
    expect(c.prompt_tokens).toBe(a.prompt_tokens);
  } finally {
    spawnSync('tmux', ['kill-session', '-t', session]);
  }
});

test('chat: unreachable server and missing key', async () => {
  const port = await closedPort();
  const down = await runCli(['chat', '--url', `http://127.0.0.1:${port}`, '--api-key', 'k']);
  expect(down.code).toBe(1);
  expect(down.stderr).toContain(`cannot reach http://127.0.0.1:${port} (ECONNREFUSED)`);
  const noKey = await runCli(['chat', '--url', app.baseUrl]);
  expect(noKey.code).toBe(2);
  expect(noKey.stderr).toContain('--api-key is required');
});

describe('quota', () => {
  test('set changes only the fields given; get shows the stored and the effective policy', async () => {
    const token = app.token('admin');
    const base = ['--url', app.baseUrl, '--token', token, '--tenant', tenantId];
    const set = await runCli([
      'quota',
      'set',
      ...base,
      '--allowed-models',
      'tiny-llama,chat',
      '--max-tokens-cap',
      '500',
    ]);
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout).policy).toMatchObject({
      allowed_models: ['tiny-llama', 'chat'],
      max_tokens_cap: 500,
    });
    const cleared = await runCli(['quota', 'set', ...base, '--max-tokens-cap', 'inherit']);
    expect(JSON.parse(cleared.stdout).policy).toMatchObject({
      allowed_models: ['tiny-llama', 'chat'],
      max_tokens_cap: null,
    });
    const get = await runCli(['quota', 'get', ...base]);
    expect(JSON.parse(get.stdout).effective.allowed_models).toEqual(['tiny-llama', 'chat']);
    const bad = await runCli(['quota', 'set', ...base, '--allowed-models', 'bad name']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('allowed_models must be a non-empty array');
    const nothing = await runCli(['quota', 'set', ...base]);
    expect(nothing.code).not.toBe(0);
    expect(nothing.stderr).toContain('no field to change');
    // Back to every model for the other tests.
    await runCli(['quota', 'set', ...base, '--allowed-models', 'inherit']);
  });
});

describe('models', () => {
  test('list shows the served model', async () => {
    const r = await runCli(['models', 'list', '--url', app.baseUrl, '--api-key', app.apiKey]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).data.map((m: { id: string }) => m.id)).toEqual(['tiny-llama']);
    const bad = await runCli(['models', 'list', '--url', app.baseUrl, '--api-key', 'sk-wrong']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('HTTP 401');
  });

  test('status and reload (admin) show the engines and apply the routes', async () => {
    const token = app.token('admin');
    const status = await runCli(['models', 'status', '--url', app.baseUrl, '--token', token]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).models).toEqual([
      expect.objectContaining({
        id: 'tiny-llama',
        primary: true,
        ready: true,
        backend: 'cpu',
        max_num_seqs: 4,
      }),
    ]);
    const reload = await runCli(['models', 'reload', '--url', app.baseUrl, '--token', token]);
    expect(reload.code).toBe(0);
    expect(JSON.parse(reload.stdout)).toMatchObject({ aliases: {}, fallbacks: {}, context_fallbacks: {} });
    const denied = await runCli(['models', 'status', '--url', app.baseUrl, '--token', 'not-a-jwt']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('HTTP 401');
  });

  test('inspect reads config.json and the safetensors headers', async () => {
    const model = ensureModel('tiny-llama');
    const r = await runCli(['models', 'inspect', model, '--tokens', '1000']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    // tiny: hidden 64, 2 layers, 4 heads (head_dim 16), 2 KV heads, FFN 172, vocab 384, untied, f32.
    const layer = 64 * 64 * 2 + 64 * 32 * 2 + 3 * 64 * 172 + 2 * 64;
    const params = 2 * 384 * 64 + 2 * layer + 64;
    expect(info).toMatchObject({
      architecture: 'LlamaForCausalLM',
      num_hidden_layers: 2,
      num_key_value_heads: 2,
      head_dim: 16,
      parameters: params,
      weights_bytes: params * 4,
      kv_cache: { dtype: 'float32', bytes_per_token: 2 * 2 * 2 * 16 * 4, tokens: 1000, bytes: 512 * 1000 },
    });
    // QUANTIZATION=int8 / int4: Linear weights and the (untied) lm_head packed, the rest as stored (f32).
    const linears: [number, number][] = [
      ...Array.from({ length: 2 }, (): [number, number][] => [
        [64, 64],
        [32, 64],
        [32, 64],
        [64, 64],
        [172, 64],
        [172, 64],
        [64, 172],
      ]).flat(),
      [384, 64],
    ];
    const stored = (384 * 64 + 2 * 2 * 64 + 64) * 4; // embedding and norms
    expect(info.cpu_quantized_weights.int8.bytes).toBe(
      stored + linears.reduce((s, [r, c]) => s + r * c + r * 4, 0),
    );
    expect(info.cpu_quantized_weights.int4.bytes).toBe(
      stored + linears.reduce((s, [r, c]) => s + r * Math.ceil(c / 32) * 18, 0),
    );

    // A truncated safetensors file and a directory without config.json fail clearly.
    const broken = join(dir, 'broken-model');
    mkdirSync(broken);
    writeFileSync(join(broken, 'config.json'), readFileSync(join(model, 'config.json')));
    writeFileSync(
      join(broken, 'model.safetensors'),
      readFileSync(join(model, 'model.safetensors')).subarray(0, 4000),
    );
    const t = await runCli(['models', 'inspect', broken]);
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(
      /model\.safetensors: (tensor .* lies past the end of the file|not a safetensors file)/,
    );
    const none = await runCli(['models', 'inspect', dir]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no config.json');
    const usage = await runCli(['models', 'inspect']);
    expect(usage.code).toBe(2);
  });
});
