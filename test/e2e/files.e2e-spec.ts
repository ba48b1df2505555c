import OpenAI from 'openai';
import { Client } from 'pg';
import { FilesRetentionService } from '@app/batches';
import { expectOpenAIError } from '../helpers';
import { BatchRig, chatLine, jsonl, startBatchRig } from './support/batch-client';
import { InferenceApp } from './support/inference-app';

// OpenAI's Files API (batch inputs and outputs): uploads through the openai client and raw
// multipart, tenant isolation, limits, retention; real gateway and Postgres.
describe('files API (tiny model)', () => {
  let rig: BatchRig;
  let app: InferenceApp;
  let client: OpenAI;
  let sql: Client;

  beforeAll(async () => {
    rig = await startBatchRig('files', { FILES_MAX_BYTES: '200000' });
    ({ app, client, sql } = rig);
  }, 120_000);
  afterAll(() => rig?.close());

  const upload = (text: string, c?: OpenAI) => rig.upload(text, c);

  it('expired files are deleted, except the input of a batch that has not ended', async () => {
    const gone = await upload(jsonl([chatLine('g', 'x')]));
    const kept = await upload(jsonl([chatLine('k', 'x')]));
    const fresh = await upload(jsonl([chatLine('f', 'x')]));
    const owner = (await sql.query(`SELECT tenant_id, api_key_id FROM files WHERE id = $1`, [kept.id]))
      .rows[0];
    await sql.query(`UPDATE files SET expires_at = now() - interval '1 minute' WHERE id IN ($1, $2)`, [
      gone.id,
      kept.id,
    ]);
    // `kept` is the input of a batch another replica is running.
    await sql.query(
      `INSERT INTO batches (id, tenant_id, api_key_id, endpoint, input_file_id, completion_window, status, expires_at,
                            lease_owner, lease_until)
       VALUES ('batch_retention000000000000001', $1, $2, '/v1/chat/completions', $3, '24h', 'in_progress',
               now() + interval '1 day', 'other-replica', now() + interval '1 hour')`,
      [owner.tenant_id, owner.api_key_id, kept.id],
    );
    expect(await app.app.get(FilesRetentionService).prune()).toBe(1);
    expect((await app.request('GET', `/v1/files/${gone.id}`, { apiKey: app.apiKey })).status).toBe(404);
    expect((await client.files.retrieve(kept.id)).id).toBe(kept.id);
    expect((await client.files.retrieve(fresh.id)).id).toBe(fresh.id);
    await sql.query(
      `UPDATE batches SET status = 'cancelled', lease_owner = NULL WHERE id = 'batch_retention000000000000001'`,
    );
    expect(await app.app.get(FilesRetentionService).prune()).toBe(1);
    expect((await app.request('GET', `/v1/files/${kept.id}`, { apiKey: app.apiKey })).status).toBe(404);
  });

  it('files API: tenants see only their own files; bad uploads and bad batches get clear 4xx errors', async () => {
    const file = await upload(jsonl([chatLine('a', 'hi')]));
    expect((await client.files.retrieve(file.id)).bytes).toBe(file.bytes);
    const otherKey = await app.newTenantKey('batches-other');
    expectOpenAIError(
      await app.request('GET', `/v1/files/${file.id}`, { apiKey: otherKey }),
      404,
      'file_not_found',
    );
    expectOpenAIError(
      await app.request('GET', `/v1/files/${file.id}/content`, { apiKey: otherKey }),
      404,
      'file_not_found',
    );
    expectOpenAIError(await app.request('GET', `/v1/files`), 401);

    const form = (parts: Record<string, Blob | string>) => {
      const f = new FormData();
      for (const [k, v] of Object.entries(parts))
        f.append(k, v, ...(typeof v === 'string' ? [] : ['in.jsonl']));
      return f;
    };
    const post = (body: FormData | string) =>
      fetch(`${app.baseUrl}/v1/files`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${app.apiKey}`,
          ...(typeof body === 'string' ? { 'content-type': 'application/json' } : {}),
        },
        body,
      }).then(async (r) => ({ status: r.status, body: await r.json(), text: '', headers: r.headers }));
    expectOpenAIError(
      await post(form({ purpose: 'batch', file: new Blob(['x'.repeat(250_000)]) })),
      413,
      'file_too_large',
    );
    expectOpenAIError(await post(form({ purpose: 'fine-tune', file: new Blob(['{}']) })), 400);
    expectOpenAIError(await post(form({ file: new Blob(['{}']) })), 400, 'missing_required_parameter');
    expectOpenAIError(await post(form({ purpose: 'batch' })), 400, 'missing_required_parameter');
    expectOpenAIError(await post('{"purpose":"batch"}'), 400);
    // The server still answers after the refused uploads.
    expect((await client.files.retrieve(file.id)).id).toBe(file.id);

    const create = (body: object) => app.request('POST', '/v1/batches', { apiKey: app.apiKey, body });
    const good = { input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' };
    expectOpenAIError(await create({ ...good, endpoint: '/v1/moderations' }), 400);
    expectOpenAIError(await create({ ...good, completion_window: '1h' }), 400);
    expectOpenAIError(await create({ ...good, input_file_id: 'file-nope' }), 404, 'file_not_found');
    expectOpenAIError(await create({ ...good, metadata: { k: 1 } }), 400);
    expectOpenAIError(await create({ endpoint: '/v1/chat/completions' }), 400, 'missing_required_parameter');
    expectOpenAIError(
      await app.request('GET', '/v1/batches/batch_nope', { apiKey: app.apiKey }),
      404,
      'batch_not_found',
    );
    expectOpenAIError(await app.request('GET', '/v1/batches?limit=0', { apiKey: app.apiKey }), 400);
  });
});
