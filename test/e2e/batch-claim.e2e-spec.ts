import { Client } from 'pg';
import { BatchStore } from '@app/batches';
import { expectOpenAIError } from '../helpers';
import { BatchRig, chatLine, jsonl, startBatchRig } from './support/batch-client';
import { InferenceApp } from './support/inference-app';

// How replicas pick batches (BatchStore.claim on real Postgres; this app's own runner is off), and
// how many a tenant may have open.
describe('batch claims take turns between tenants', () => {
  let rig: BatchRig;
  let app: InferenceApp;
  let sql: Client;

  beforeAll(async () => {
    rig = await startBatchRig('batch_claim', { BATCH_MAX_ACTIVE: '0', BATCH_MAX_OPEN_PER_TENANT: '2' });
    ({ app, sql } = rig);
  }, 120_000);
  afterAll(() => rig?.close());

  async function tenant(name: string): Promise<{ tenantId: string; keyId: string }> {
    const key = await app.newTenantKey(name);
    const row = (await sql.query(`SELECT id, tenant_id FROM api_keys WHERE prefix = $1`, [key.split('-')[1]]))
      .rows[0];
    return { tenantId: row.tenant_id, keyId: row.id };
  }

  async function batch(
    id: string,
    owner: { tenantId: string; keyId: string },
    agoS: number,
    runningElsewhere = false,
  ) {
    await sql.query(
      `INSERT INTO batches (id, tenant_id, api_key_id, endpoint, input_file_id, completion_window, status,
                            created_at, expires_at, lease_owner, lease_until)
       VALUES ($1, $2, $3, '/v1/chat/completions', 'file-x', '24h', 'in_progress',
               now() - $4 * interval '1 second', now() + interval '1 day', $5, $6)`,
      [
        id,
        owner.tenantId,
        owner.keyId,
        agoS,
        runningElsewhere ? 'other-replica' : null,
        runningElsewhere ? new Date(Date.now() + 60_000) : null,
      ],
    );
  }

  it("a tenant's queue of batches does not hold back other tenants' first ones", async () => {
    const [a, b, c] = [await tenant('claim-a'), await tenant('claim-b'), await tenant('claim-c')];
    await batch('batch_a1', a, 300);
    await batch('batch_a2', a, 240);
    await batch('batch_a3', a, 180);
    await batch('batch_b1', b, 120);
    await batch('batch_c1', c, 90, true); // running on another replica
    await batch('batch_c2', c, 30);
    const store = app.app.get(BatchStore);
    const ids = async (limit: number) => (await store.claim('me', 60_000, limit)).map((r) => r.id).sort();
    // Turns: a1 1, b1 1, a2 2, c2 2 (c1 runs), a3 3.
    expect(await ids(3)).toEqual(['batch_a1', 'batch_a2', 'batch_b1']);
    // Now A runs two: c2 (turn 2) before a3 (turn 3).
    expect(await ids(1)).toEqual(['batch_c2']);
    expect(await ids(5)).toEqual(['batch_a3']);
    expect(await ids(5)).toEqual([]); // every one is held
  });
  it('a tenant may have BATCH_MAX_OPEN_PER_TENANT batches open; one more is a 429 until one ends', async () => {
    const file = await rig.upload(jsonl([chatLine('a', 'hi')]));
    const create = () =>
      app.request('POST', '/v1/batches', {
        apiKey: app.apiKey,
        body: { input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' },
      });
    const first = await create();
    expect(first.status).toBe(200);
    expect((await create()).status).toBe(200);
    const refused = await create();
    expectOpenAIError(refused, 429, 'batch_limit_exceeded');
    expect(refused.headers.get('retry-after')).toBe('60');
    await sql.query(`UPDATE batches SET status = 'completed' WHERE id = $1`, [first.body.id]);
    expect((await create()).status).toBe(200);
  });
});
