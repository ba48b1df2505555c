import OpenAI, { toFile } from 'openai';
import { Client } from 'pg';
import { InferenceApp, startInferenceApp } from './inference-app';

export const BATCH_MODEL = 'tiny-llama';

/** A JSONL file of request lines. */
export const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** One /v1/chat/completions batch line (greedy, 6 tokens unless `extra` says otherwise). */
export const chatLine = (customId: string, content: string, extra: object = {}) => ({
  custom_id: customId,
  method: 'POST',
  url: '/v1/chat/completions',
  body: {
    model: BATCH_MODEL,
    messages: [{ role: 'user', content }],
    max_tokens: 6,
    temperature: 0,
    ...extra,
  },
});

const ENDED = ['completed', 'failed', 'cancelled', 'expired'];

/**
 * The batches e2e tests' rig: a gateway on the tiny model (the batch runner polling every
 * 100 ms unless `env` says otherwise), the openai client with the main tenant's key, a Postgres
 * client on the app's database, and the calls the tests share.
 */
export async function startBatchRig(label: string, env: Record<string, string> = {}) {
  const app: InferenceApp = await startInferenceApp(label, {
    RATE_LIMIT: '100000/minute',
    BATCH_POLL_MS: '100',
    ...env,
  });
  const client = new OpenAI({ apiKey: app.apiKey, baseURL: `${app.baseUrl}/v1`, maxRetries: 0 });
  const sql = new Client({ connectionString: app.db.url });
  await sql.connect();

  const upload = async (text: string, c: OpenAI = client) =>
    c.files.create({ file: await toFile(Buffer.from(text), 'input.jsonl'), purpose: 'batch' });
  async function until(batchId: string, done: (b: OpenAI.Batch) => boolean, c: OpenAI = client) {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const b = await c.batches.retrieve(batchId);
      if (done(b)) return b;
      if (Date.now() > deadline) throw new Error(`batch ${batchId} still ${b.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const finished = (id: string, c: OpenAI = client) => until(id, (b) => ENDED.includes(b.status), c);
  const lines = async (fileId: string | null | undefined) =>
    fileId
      ? (await (await client.files.content(fileId)).text())
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l))
      : [];
  /** The usage events of a batch's lines (ids `<prefix>-<batch id>-<line>`). */
  const usageRows = async (batchId: string) =>
    (
      await sql.query(
        `SELECT request_id, lane, prompt_tokens, completion_tokens FROM usage_events
          WHERE request_id LIKE $1 ORDER BY request_id`,
        [`%-${batchId}-%`],
      )
    ).rows;
  /** A client for a new tenant with its own key. */
  const newTenantClient = async (name: string) =>
    new OpenAI({ apiKey: await app.newTenantKey(name), baseURL: `${app.baseUrl}/v1`, maxRetries: 0 });
  const close = async () => {
    await sql.end();
    await app.close();
  };
  return { app, client, sql, upload, until, finished, lines, usageRows, newTenantClient, close };
}

export type BatchRig = Awaited<ReturnType<typeof startBatchRig>>;

/** Polls until `read` answers at least `n` rows (metering writes in batches off the hot path). */
export async function pollRows<T>(read: () => Promise<T[]>, n: number, timeoutMs = 10_000): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await read();
    if (rows.length >= n || Date.now() > deadline) return rows;
    await new Promise((r) => setTimeout(r, 100));
  }
}
