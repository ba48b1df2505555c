/**
 * `llm-inference batches` against a running gateway (real Postgres, native engine, tiny model):
 * submit --wait writes the output and error files; status, list, download, cancel; bad input.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceApp, startInferenceApp } from './support/inference-app';
import { closedPort, runCli } from './support/cli-process';

jest.setTimeout(120_000);

describe('llm-inference batches', () => {
  let app: InferenceApp;
  let dir: string;
  const line = (id: string, extra: object = {}) =>
    JSON.stringify({
      custom_id: id,
      method: 'POST',
      url: '/v1/completions',
      body: { model: 'tiny-llama', prompt: `say ${id}`, max_tokens: 4, ...extra },
    });

  beforeAll(async () => {
    app = await startInferenceApp('cli_batches', { RATE_LIMIT: '100000/minute', BATCH_POLL_MS: '100' });
    dir = mkdtempSync(join(tmpdir(), 'cli-batches-'));
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) =>
    runCli(['batches', ...args, '--url', app.baseUrl, '--api-key', app.apiKey]);

  it('submit --wait runs the file on the server and writes the output and error files', async () => {
    const input = join(dir, 'in.jsonl');
    writeFileSync(input, [line('a'), line('b'), line('bad', { max_tokens: -5 })].join('\n') + '\n');
    const out = join(dir, 'out.jsonl');
    const errs = join(dir, 'err.jsonl');
    const run = await cli(
      'submit',
      '--input',
      input,
      '--metadata',
      'job=cli',
      '--wait',
      '--poll-ms',
      '100',
      '--output',
      out,
      '--errors',
      errs,
    );
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({
      batch: {
        status: 'completed',
        endpoint: '/v1/completions',
        request_counts: { total: 3, completed: 2, failed: 1 },
      },
      output: { path: out, lines: 2 },
      errors: { path: errs, lines: 1 },
    });
    const answers = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(answers.map((a) => [a.custom_id, a.response.status_code])).toEqual([
      ['a', 200],
      ['b', 200],
    ]);
    expect(JSON.parse(readFileSync(errs, 'utf8')).response.status_code).toBe(400);

    const id = summary.batch.id as string;
    const status = await cli('status', id);
    expect(JSON.parse(status.stdout)).toMatchObject({ id, status: 'completed', metadata: { job: 'cli' } });
    const list = await cli('list', '--limit', '5');
    expect(JSON.parse(list.stdout).data.map((b: { id: string }) => b.id)).toContain(id);
    const again = join(dir, 'again.jsonl');
    expect((await cli('download', id, '--output', again)).code).toBe(0);
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(out, 'utf8'));
    // Ended: cancel is refused (409) with the server's message.
    const cancel = await cli('cancel', id);
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toMatch(/409.*can no longer be cancelled/);
  });

  it('a file that fails validation exits 1 with the bad lines; bad arguments exit 2', async () => {
    const input = join(dir, 'broken.jsonl');
    writeFileSync(input, line('x') + '\n{oops\n');
    const run = await cli('submit', '--input', input, '--wait', '--poll-ms', '100');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/failed:\nline 2: invalid_json_line/);

    expect((await cli('submit')).code).toBe(2);
    expect((await cli('status')).code).toBe(2);
    expect((await cli('frobnicate')).code).toBe(2);
    const missing = await cli('submit', '--input', join(dir, 'nope.jsonl'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no such file/);
    const down = await runCli([
      'batches',
      'list',
      '--url',
      `http://127.0.0.1:${await closedPort()}`,
      '--api-key',
      'sk-x',
    ]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach/);
  });
});
