import OpenAI from 'openai';
import { Client } from 'pg';
import { parsePromText, sampleSum } from '@app/observability';
import { expectOpenAIError } from '../helpers';
import {
  BATCH_MODEL as model,
  BatchRig,
  chatLine,
  jsonl,
  pollRows,
  startBatchRig,
} from './support/batch-client';
import { InferenceApp } from './support/inference-app';

// OpenAI's Batch API through the official openai client and raw HTTP: real gateway, real Postgres,
// real native engine (tiny model); the batch runner polls every 100 ms.
describe('batches API (tiny model)', () => {
  let rig: BatchRig;
  let app: InferenceApp;
  let client: OpenAI;
  let sql: Client;

  beforeAll(async () => {
    rig = await startBatchRig('batches', { BATCH_LEASE_MS: '3000', BATCH_CONCURRENCY: '4' });
    ({ app, client, sql } = rig);
  }, 120_000);
  afterAll(() => rig?.close());

  const upload = (text: string, c?: OpenAI) => rig.upload(text, c);
  const until = (id: string, done: (b: OpenAI.Batch) => boolean, c?: OpenAI) => rig.until(id, done, c);
  const finished = (id: string, c?: OpenAI) => rig.finished(id, c);
  const lines = (fileId: string | null | undefined) => rig.lines(fileId);
  const usageRows = (batchId: string) => rig.usageRows(batchId);

  it('runs a chat batch in the batch lane: output and error files, counts, usage billed once per line', async () => {
    const rows = [
      chatLine('a', 'Hello there'),
      chatLine('b', 'Second question'),
      chatLine('bad', 'x', { max_tokens: -1 }),
      chatLine('c', 'Third one', { n: 2 }),
    ];
    const file = await upload(jsonl(rows));
    expect(file).toMatchObject({
      object: 'file',
      purpose: 'batch',
      filename: 'input.jsonl',
      status: 'processed',
    });
    expect(file.expires_at).toBe(file.created_at + 30 * 86_400); // FILES_RETENTION_DAYS
    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
      metadata: { job: 'nightly' },
    });
    expect(created).toMatchObject({ object: 'batch', status: 'validating', metadata: { job: 'nightly' } });
    expect(created.id).toMatch(/^batch_/);

    const b = await finished(created.id);
    expect(b.status).toBe('completed');
    expect(b.request_counts).toEqual({ total: 4, completed: 3, failed: 1 });
    expect(b.in_progress_at).not.toBeNull();
    expect(b.completed_at).not.toBeNull();

    const out = await lines(b.output_file_id);
    expect(out.map((l) => l.custom_id)).toEqual(['a', 'b', 'c']);
    // The answers are kept once, in the files: the per-line rows go when the batch ends.
    expect((await sql.query(`SELECT 1 FROM batch_results WHERE batch_id = $1`, [created.id])).rows).toEqual(
      [],
    );
    for (const l of out) {
      expect(l).toMatchObject({
        error: null,
        response: { status_code: 200, body: { object: 'chat.completion' } },
      });
      expect(l.id).toMatch(/^batch_req_/);
      expect(l.response.body.service_tier).toBe('flex');
    }
    expect(out[2].response.body.choices).toHaveLength(2);
    const errs = await lines(b.error_file_id);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatchObject({
      custom_id: 'bad',
      response: { status_code: 400, body: { error: { param: 'max_tokens' } } },
    });

    // The same request sent to the endpoint answers the same text (temperature 0): the same path.
    const direct = await app.request('POST', '/v1/chat/completions', {
      apiKey: app.apiKey,
      body: rows[0].body,
    });
    expect(out[0].response.body.choices[0].message.content).toBe(direct.body.choices[0].message.content);

    // One usage event per line that ran, in the batch lane, keyed by batch and line; the batch's usage sums them.
    // (The bad line was refused before it ran, as the endpoint refuses it: no usage.)
    const usage = await pollRows(() => usageRows(created.id), 3);
    expect(usage.map((r) => r.request_id)).toEqual([0, 1, 3].map((i) => `chatcmpl-${created.id}-${i}`));
    expect(new Set(usage.map((r) => r.lane))).toEqual(new Set(['batch']));
    const sum = (k: string) => usage.reduce((s, r) => s + Number(r[k]), 0);
    expect(b.usage).toMatchObject({
      input_tokens: sum('prompt_tokens'),
      output_tokens: sum('completion_tokens'),
    });
    expect(out.reduce((s, l) => s + l.response.body.usage.completion_tokens, 0)).toBe(
      sum('completion_tokens'),
    );

    const metrics = parsePromText((await app.request('GET', '/metrics')).text);
    expect(sampleSum(metrics, 'llm_batch_lines_total', { result: 'succeeded' })).toBeGreaterThanOrEqual(3);
    expect(sampleSum(metrics, 'llm_batch_lines_total', { result: 'failed' })).toBeGreaterThanOrEqual(1);
    expect(sampleSum(metrics, 'llm_batches_total', { status: 'completed' })).toBeGreaterThanOrEqual(1);

    // Listing: newest first, with cursors.
    const listed = await app.request('GET', '/v1/batches?limit=1', { apiKey: app.apiKey });
    expect(listed.body).toMatchObject({ object: 'list', first_id: expect.any(String) });
    const files = (await client.files.list()).data.map((f) => f.id);
    expect(files).toEqual(expect.arrayContaining([file.id, b.output_file_id, b.error_file_id]));
  });

  it('embeddings batches answer the vectors the endpoint answers', async () => {
    const body = { model, input: 'vector me' };
    const file = await upload(jsonl([{ custom_id: 'e1', method: 'POST', url: '/v1/embeddings', body }]));
    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/embeddings',
      completion_window: '24h',
    });
    const b = await finished(created.id);
    expect(b).toMatchObject({ status: 'completed', request_counts: { total: 1, completed: 1, failed: 0 } });
    const [line] = await lines(b.output_file_id);
    const direct = await app.request('POST', '/v1/embeddings', { apiKey: app.apiKey, body });
    expect(line.response.body.data[0].embedding).toEqual(direct.body.data[0].embedding);
  });

  it('responses batches: each line a stored response (id resp_<batch>-<line>) answering as /v1/responses does', async () => {
    const body = { model, input: 'Hello there', max_output_tokens: 5, temperature: 0 };
    const rows = [
      { custom_id: 'r1', method: 'POST', url: '/v1/responses', body },
      { custom_id: 'r2', method: 'POST', url: '/v1/responses', body: { ...body, store: false } },
      { custom_id: 'bad', method: 'POST', url: '/v1/responses', body: { model, input: [] } },
    ];
    const file = await upload(jsonl(rows));
    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/responses',
      completion_window: '24h',
    });
    const b = await finished(created.id);
    expect(b).toMatchObject({ status: 'completed', request_counts: { total: 3, completed: 2, failed: 1 } });
    const out = await lines(b.output_file_id);
    expect(out.map((l) => l.custom_id)).toEqual(['r1', 'r2']);
    const direct = await client.responses.create(body);
    for (const [i, l] of out.entries()) {
      expect(l.response.body).toMatchObject({
        id: `resp_${b.id}-${i}`,
        object: 'response',
        service_tier: 'flex',
      });
      expect(l.response.body.output[0].content[0].text).toBe(direct.output_text);
    }
    // Stored unless store: false; each line billed once under its response id, in the batch lane.
    expect((await client.responses.retrieve(`resp_${b.id}-0`)).output_text).toBe(direct.output_text);
    const gone = await app.request('GET', `/v1/responses/resp_${b.id}-1`, { apiKey: app.apiKey });
    expect(gone.status).toBe(404);
    const billed = await pollRows(
      async () =>
        (
          await sql.query(`SELECT request_id, lane FROM usage_events WHERE request_id LIKE $1 ORDER BY 1`, [
            `resp_${b.id}-%`,
          ])
        ).rows,
      2,
    );
    expect(billed).toEqual([
      { request_id: `resp_${b.id}-0`, lane: 'batch' },
      { request_id: `resp_${b.id}-1`, lane: 'batch' },
    ]);
    const [err] = await lines(b.error_file_id);
    expect(err).toMatchObject({
      custom_id: 'bad',
      response: { status_code: 400, body: { error: { param: 'input' } } },
    });
  });

  it('a malformed input file fails validation with line numbers, and runs nothing', async () => {
    const text =
      jsonl([chatLine('a', 'fine')]) +
      '{not json\n' +
      jsonl([
        chatLine('a', 'duplicate'),
        { ...chatLine('w', 'x'), url: '/v1/embeddings' },
        { ...chatLine('s', 'x'), body: { stream: true } },
      ]);
    const file = await upload(text);
    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const b = await finished(created.id);
    expect(b.status).toBe('failed');
    expect(b.errors?.data?.map((e) => [e.code, e.line])).toEqual([
      ['invalid_json_line', 2],
      ['duplicate_custom_id', 3],
      ['mismatched_url', 4],
      ['invalid_request', 5],
    ]);
    expect(await usageRows(created.id)).toEqual([]);
  });

  it('cancel: lines in flight finish, the rest are written as batch_cancelled; the input file is kept meanwhile', async () => {
    // Long enough to be cancelled midway: 300 lines of 256 tokens, 4 at a time.
    const rows = Array.from({ length: 300 }, (_, i) =>
      chatLine(`l${i}`, `Write a long story number ${i}`, { max_tokens: 256, ignore_eos: true }),
    );
    const file = await upload(jsonl(rows));
    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    await until(created.id, (b) => b.status === 'in_progress');
    expectOpenAIError(
      await app.request('DELETE', `/v1/files/${file.id}`, { apiKey: app.apiKey }),
      409,
      'file_in_use',
    );
    const cancelling = await client.batches.cancel(created.id);
    expect(['cancelling', 'cancelled']).toContain(cancelling.status);
    const b = await finished(created.id);
    expect(b.status).toBe('cancelled');
    expect(b.cancelled_at).not.toBeNull();
    const out = await lines(b.output_file_id);
    const errs = await lines(b.error_file_id);
    expect(out.length + errs.length).toBe(300);
    expect(errs.length).toBeGreaterThan(0);
    for (const e of errs) expect(e).toMatchObject({ response: null, error: { code: 'batch_cancelled' } });
    expect(b.request_counts).toEqual({ total: 300, completed: out.length, failed: errs.length });
    // Only the lines that ran were billed.
    expect((await pollRows(() => usageRows(created.id), out.length)).length).toBe(out.length);
    // Ended: cancelling again is a no-op, and the input file may go now.
    expect((await client.batches.cancel(created.id)).status).toBe('cancelled');
    expect((await client.files.delete(file.id)).deleted).toBe(true);
    expect((await app.request('GET', `/v1/files/${file.id}`, { apiKey: app.apiKey })).status).toBe(404);
  });

  it("takes over a dead replica's batch when its lease runs out, without running its finished lines again", async () => {
    const rows = [chatLine('x0', 'zero'), chatLine('x1', 'one'), chatLine('x2', 'two')];
    const file = await upload(jsonl(rows));
    const tenant = (await sql.query(`SELECT tenant_id, api_key_id FROM files WHERE id = $1`, [file.id]))
      .rows[0];
    const batchId = 'batch_takeover0000000000000001';
    // A replica took it, answered line 0, and died: its lease runs out in a second.
    await sql.query(
      `INSERT INTO batches (id, tenant_id, api_key_id, endpoint, input_file_id, completion_window, status,
                            expires_at, in_progress_at, total, completed, lease_owner, lease_until)
       VALUES ($1, $2, $3, '/v1/chat/completions', $4, '24h', 'in_progress', now() + interval '1 day', now(), 3, 1,
               'dead-replica', now() + interval '1 second')`,
      [batchId, tenant.tenant_id, tenant.api_key_id, file.id],
    );
    const earlier = {
      id: 'chatcmpl-earlier',
      object: 'chat.completion',
      usage: { prompt_tokens: 1, completion_tokens: 1 },
    };
    await sql.query(
      `INSERT INTO batch_results (batch_id, line, custom_id, status_code, request_id, body)
       VALUES ($1, 0, 'x0', 200, 'chatcmpl-earlier', $2)`,
      [batchId, earlier],
    );
    const b = await finished(batchId);
    expect(b).toMatchObject({ status: 'completed', request_counts: { total: 3, completed: 3, failed: 0 } });
    const out = await lines(b.output_file_id);
    expect(out.map((l) => l.custom_id)).toEqual(['x0', 'x1', 'x2']);
    expect(out[0].response.body).toEqual(earlier);
    const usage = await pollRows(() => usageRows(batchId), 2);
    expect(usage.map((r) => r.request_id)).toEqual([`chatcmpl-${batchId}-1`, `chatcmpl-${batchId}-2`]);
  });

  it("lines refused for now (the tenant's concurrency limit) wait and run again instead of failing", async () => {
    const key = await app.newTenantKey('batches-concurrency');
    const tenantId = (
      await sql.query(`SELECT tenant_id FROM api_keys WHERE prefix = $1`, [key.split('-')[1]])
    ).rows[0]?.tenant_id;
    const put = await app.request('PUT', `/admin/tenants/${tenantId}/quota`, {
      token: app.token('admin'),
      body: { max_concurrent: 1 },
    });
    expect(put.status).toBe(200);
    const retried = async () =>
      sampleSum(parsePromText((await app.request('GET', '/metrics')).text), 'llm_batch_lines_total', {
        result: 'retried',
      }) ?? 0;
    const before = await retried();
    const c = new OpenAI({ apiKey: key, baseURL: `${app.baseUrl}/v1`, maxRetries: 0 });
    const rows = Array.from({ length: 8 }, (_, i) =>
      chatLine(`c${i}`, `line ${i}`, { max_tokens: 32, ignore_eos: true }),
    );
    const file = await upload(jsonl(rows), c);
    const created = await c.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const b = await finished(created.id, c);
    expect(b).toMatchObject({ status: 'completed', request_counts: { total: 8, completed: 8, failed: 0 } });
    // Lines found the tenant's one slot taken (three of the first four, typically).
    expect(await retried()).toBeGreaterThan(before);
  });

  it('a batch past its completion window expires: the lines not run are written as batch_expired', async () => {
    const file = await upload(jsonl([chatLine('e0', 'zero'), chatLine('e1', 'one')]));
    const owner = (await sql.query(`SELECT tenant_id, api_key_id FROM files WHERE id = $1`, [file.id]))
      .rows[0];
    const batchId = 'batch_expired00000000000000001';
    await sql.query(
      `INSERT INTO batches (id, tenant_id, api_key_id, endpoint, input_file_id, completion_window, status, expires_at,
                            created_at)
       VALUES ($1, $2, $3, '/v1/chat/completions', $4, '24h', 'in_progress', now() - interval '1 minute',
               now() - interval '1 day')`,
      [batchId, owner.tenant_id, owner.api_key_id, file.id],
    );
    const b = await finished(batchId);
    expect(b).toMatchObject({ status: 'expired', request_counts: { total: 2, completed: 0, failed: 2 } });
    expect(b.expired_at).not.toBeNull();
    expect((await lines(b.error_file_id)).map((e) => [e.custom_id, e.response, e.error.code])).toEqual([
      ['e0', null, 'batch_expired'],
      ['e1', null, 'batch_expired'],
    ]);
    expect(await usageRows(batchId)).toEqual([]);
  });

  it('a revoked key answers 401 for the lines it has not run', async () => {
    const key = await app.newTenantKey('batches-revoked');
    const other = new OpenAI({ apiKey: key, baseURL: `${app.baseUrl}/v1`, maxRetries: 0 });
    const file = await upload(jsonl([chatLine('r0', 'zero'), chatLine('r1', 'one')]), other);
    const owner = (await sql.query(`SELECT tenant_id, api_key_id FROM files WHERE id = $1`, [file.id]))
      .rows[0];
    const batchId = 'batch_revoked00000000000000001';
    await sql.query(
      `INSERT INTO batches (id, tenant_id, api_key_id, endpoint, input_file_id, completion_window, status, expires_at,
                            lease_owner, lease_until)
       VALUES ($1, $2, $3, '/v1/chat/completions', $4, '24h', 'validating', now() + interval '1 day',
               'not-yet', now() + interval '1 second')`,
      [batchId, owner.tenant_id, owner.api_key_id, file.id],
    );
    await sql.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [owner.api_key_id]);
    const deadline = Date.now() + 30_000;
    let row;
    do {
      await new Promise((r) => setTimeout(r, 100));
      row = (await sql.query(`SELECT status, failed, error_file_id FROM batches WHERE id = $1`, [batchId]))
        .rows[0];
    } while (row.status !== 'completed' && Date.now() < deadline);
    expect(row).toMatchObject({ status: 'completed', failed: 2 });
    const content = (await sql.query(`SELECT content FROM files WHERE id = $1`, [row.error_file_id])).rows[0]
      .content;
    const errs = String(content)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(errs.map((e) => [e.custom_id, e.response.status_code, e.response.body.error.code])).toEqual([
      ['r0', 401, 'invalid_api_key'],
      ['r1', 401, 'invalid_api_key'],
    ]);
    expect(await usageRows(batchId)).toEqual([]);
  });
});
