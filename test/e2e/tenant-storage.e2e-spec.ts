import OpenAI, { toFile } from 'openai';
import { InferenceApp, startInferenceApp } from './support/inference-app';

// TENANT_STORAGE_MAX_BYTES: a tenant's files and stored responses together, per tenant. Real
// gateway, real Postgres, real engine (tiny model).
describe('tenant storage limit (TENANT_STORAGE_MAX_BYTES)', () => {
  let app: InferenceApp;
  const limit = 4000;
  const model = 'tiny-llama';

  beforeAll(async () => {
    app = await startInferenceApp('tenant-storage', {
      RATE_LIMIT: '100000/minute',
      TENANT_STORAGE_MAX_BYTES: String(limit),
    });
  }, 120_000);
  afterAll(() => app?.close());

  const clientFor = (apiKey: string) => new OpenAI({ apiKey, baseURL: `${app.baseUrl}/v1`, maxRetries: 0 });
  const upload = async (c: OpenAI, bytes: number) =>
    c.files.create({ file: await toFile(Buffer.alloc(bytes, 'x'), 'data.jsonl'), purpose: 'batch' });
  const respond = (apiKey: string, store: boolean) =>
    app.request('POST', '/v1/responses', {
      apiKey,
      body: { model, input: 'Hello', max_output_tokens: 4, store },
    });

  it('refuses uploads and stored responses past the limit; store: false, deletes and other tenants are unaffected', async () => {
    const client = clientFor(app.apiKey);
    const file = await upload(client, 3500);
    const over = await upload(client, 1000).catch(
      (err: unknown) => err as InstanceType<typeof OpenAI.APIError>,
    );
    expect(over).toBeInstanceOf(OpenAI.BadRequestError);
    expect((over as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({
      code: 'storage_limit_exceeded',
      param: 'file',
    });

    // Under the limit a response is stored (and counts), then the next one is refused.
    const stored = await respond(app.apiKey, true);
    expect(stored.status).toBe(200);
    const refused = await respond(app.apiKey, true);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'storage_limit_exceeded', param: 'store' });
    expect(refused.body.error.message).toContain("'store': false");
    expect((await respond(app.apiKey, false)).status).toBe(200);

    // Another tenant has its own allowance.
    const other = clientFor(await app.newTenantKey('tenant-storage-other'));
    expect((await upload(other, 3500)).bytes).toBe(3500);

    // Deleting frees the room at once (this replica).
    await client.files.delete(file.id);
    expect((await respond(app.apiKey, true)).status).toBe(200);
    const del = await app.request('DELETE', `/v1/responses/${stored.body.id}`, { apiKey: app.apiKey });
    expect(del.status).toBe(200);
    expect((await upload(client, 1500)).bytes).toBe(1500);
  });
});
