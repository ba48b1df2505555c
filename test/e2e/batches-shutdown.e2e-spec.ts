import OpenAI, { toFile } from 'openai';
import { Client } from 'pg';
import { InferenceApp, startInferenceApp } from './support/inference-app';

// A replica that stops in the middle of a batch: the lines in flight finish and are recorded,
// the lease is given back at once (another replica takes the batch over without waiting for it to
// run out), and every line that was billed has its answer recorded, so none is lost or run twice.
describe('batch runner on shutdown (tiny model)', () => {
  let app: InferenceApp;
  let sql: Client;

  beforeAll(async () => {
    app = await startInferenceApp('batches-shutdown', {
      RATE_LIMIT: '100000/minute',
      BATCH_POLL_MS: '100',
      BATCH_CONCURRENCY: '4',
    });
    sql = new Client({ connectionString: app.db.url });
    await sql.connect();
  }, 120_000);
  afterAll(async () => {
    await sql?.end();
    await app?.db.drop();
  });

  it('finishes the lines in flight, records them, and gives the batch back', async () => {
    const client = new OpenAI({ apiKey: app.apiKey, baseURL: `${app.baseUrl}/v1`, maxRetries: 0 });
    const rows = Array.from({ length: 300 }, (_, i) => ({
      custom_id: `l${i}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: {
        model: 'tiny-llama',
        messages: [{ role: 'user', content: `story ${i}` }],
        max_tokens: 256,
        ignore_eos: true,
      },
    }));
    const file = await client.files.create({
      file: await toFile(Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n')), 'in.jsonl'),
      purpose: 'batch',
    });
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const deadline = Date.now() + 30_000;
    while ((await client.batches.retrieve(batch.id)).status !== 'in_progress' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));

    await app.app.close(); // the module shutdown a SIGTERM ends with (metering flushes last)

    const state = (
      await sql.query(`SELECT status, lease_owner, completed, failed FROM batches WHERE id = $1`, [batch.id])
    ).rows[0];
    expect(state).toMatchObject({ status: 'in_progress', lease_owner: null, failed: 0 });
    expect(state.completed).toBeGreaterThan(0);
    expect(state.completed).toBeLessThan(300);
    const recorded = (
      await sql.query(`SELECT request_id FROM batch_results WHERE batch_id = $1 ORDER BY 1`, [batch.id])
    ).rows.map((r) => r.request_id);
    const billed = (
      await sql.query(`SELECT request_id FROM usage_events WHERE request_id LIKE $1 ORDER BY 1`, [
        `%-${batch.id}-%`,
      ])
    ).rows.map((r) => r.request_id);
    expect(recorded).toHaveLength(state.completed);
    expect(billed).toEqual(recorded);
  });
});
