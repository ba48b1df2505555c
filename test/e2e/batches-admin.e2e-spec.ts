import OpenAI from 'openai';
import { expectOpenAIError } from '../helpers';
import { BatchRig, chatLine, jsonl, startBatchRig } from './support/batch-client';
import { InferenceApp } from './support/inference-app';

// GET /admin/batches and friends: every tenant's batches for admins, their own for tenant_admins.
describe("operators' batches API (tiny model)", () => {
  let rig: BatchRig;
  let app: InferenceApp;
  let client: OpenAI;

  beforeAll(async () => {
    rig = await startBatchRig('batches_admin', {});
    ({ app, client } = rig);
  }, 120_000);
  afterAll(() => rig?.close());

  const upload = (text: string, c?: OpenAI) => rig.upload(text, c);
  const until = (id: string, done: (b: OpenAI.Batch) => boolean, c?: OpenAI) => rig.until(id, done, c);
  const finished = (id: string, c?: OpenAI) => rig.finished(id, c);

  it("operators see every tenant's batches (admins) or their own (tenant_admins), and can cancel one", async () => {
    // A small finished batch of two tenants each.
    const otherClient = new OpenAI({
      apiKey: await app.newTenantKey('batches-operators'),
      baseURL: `${app.baseUrl}/v1`,
      maxRetries: 0,
    });
    for (const c of [client, otherClient]) {
      const created = await c.batches.create({
        input_file_id: (await upload(jsonl([chatLine('one', 'hello')]), c)).id,
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
      });
      expect((await finished(created.id, c)).status).toBe('completed');
    }
    const admin = app.token('admin');
    const all = await app.request('GET', '/admin/batches?limit=100', { token: admin });
    expect(all.status).toBe(200);
    const tenants = new Set(all.body.data.map((b: { tenant_id: string }) => b.tenant_id));
    expect(tenants.size).toBeGreaterThan(1);
    // Cursor pages over every tenant: the next page starts after the last id, newest first.
    const first = await app.request('GET', '/admin/batches?limit=1', { token: admin });
    expect(first.body).toMatchObject({ has_more: true, first_id: all.body.data[0].id });
    const second = await app.request('GET', `/admin/batches?limit=1&after=${first.body.last_id}`, {
      token: admin,
    });
    expect(second.body.data.map((b: { id: string }) => b.id)).toEqual([all.body.data[1].id]);
    const completed = await app.request('GET', '/admin/batches?status=completed&limit=100', { token: admin });
    expect(completed.body.data.length).toBeGreaterThan(0);
    expect(completed.body.data.every((b: { status: string }) => b.status === 'completed')).toBe(true);
    expect((await app.request('GET', '/admin/batches?status=nope', { token: admin })).status).toBe(400);
    expect((await app.request('GET', '/admin/batches?tenant_id=x', { token: admin })).status).toBe(400);

    const mine = all.body.data[0];
    const other = all.body.data.find((b: { tenant_id: string }) => b.tenant_id !== mine.tenant_id);
    const tenantAdmin = app.token('tenant_admin', mine.tenant_id);
    const own = await app.request('GET', '/admin/batches?limit=100', { token: tenantAdmin });
    expect(own.body.data.every((b: { tenant_id: string }) => b.tenant_id === mine.tenant_id)).toBe(true);
    expect((await app.request('GET', `/admin/batches/${mine.id}`, { token: tenantAdmin })).body.id).toBe(
      mine.id,
    );
    expectOpenAIError(
      await app.request('GET', `/admin/batches/${other.id}`, { token: tenantAdmin }),
      404,
      'batch_not_found',
    );
    expectOpenAIError(
      await app.request('GET', `/admin/batches?tenant_id=${other.tenant_id}`, { token: tenantAdmin }),
      403,
    );
    expect((await app.request('GET', '/admin/batches')).status).toBe(401);

    // An admin cancels a tenant's running batch.
    const rows = Array.from({ length: 300 }, (_, i) =>
      chatLine(`o${i}`, `Operator test ${i}`, { max_tokens: 256, ignore_eos: true }),
    );
    const created = await client.batches.create({
      input_file_id: (await upload(jsonl(rows))).id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    await until(created.id, (b) => b.status === 'in_progress');
    const cancel = await app.request('POST', `/admin/batches/${created.id}/cancel`, { token: admin });
    expect(cancel.status).toBe(200);
    expect((await finished(created.id)).status).toBe('cancelled');
  });
});
