import { expectOpenAIError, startTestApp, TestApp } from '../helpers';

describe('tenants, API keys and admin auth (real Postgres, real HTTP)', () => {
  let t: TestApp;
  let admin: string;

  beforeAll(async () => {
    t = await startTestApp({ label: 'keys' });
    admin = t.token('admin', undefined, 'alice');
  });
  afterAll(() => t?.close());

  async function createTenant(name: string) {
    const res = await t.request('POST', '/admin/tenants', { token: admin, body: { name } });
    expect(res.status).toBe(201);
    return res.body as { id: string; name: string; status: string };
  }

  async function createKey(tenantId: string, body: Record<string, unknown> = { name: 'k' }, token = admin) {
    const res = await t.request('POST', `/admin/tenants/${tenantId}/keys`, { token, body });
    expect(res.status).toBe(201);
    return res.body as { id: string; key: string; prefix: string; tenant_id: string };
  }

  async function audit(tenantId: string) {
    const res = await t.request('GET', `/admin/audit?tenant_id=${tenantId}&limit=100`, { token: admin });
    expect(res.status).toBe(200);
    return (res.body.data as { action: string; actor: string; target_id: string }[])
      .map((r) => r.action)
      .reverse();
  }

  it('admin creates a tenant and a key; the key reaches /v1/models', async () => {
    const tenant = await createTenant('acme');
    expect(tenant).toMatchObject({ name: 'acme', status: 'active' });
    const key = await createKey(tenant.id, { name: 'prod', scopes: ['inference'] });
    expect(key.key).toMatch(/^sk-[a-z0-9]{12}-[A-Za-z0-9_-]{43}$/);
    expect(key.key.startsWith(`sk-${key.prefix}-`)).toBe(true);

    const models = await t.request('GET', '/v1/models', { apiKey: key.key });
    expect(models.status).toBe(200);
    expect(models.body).toEqual({
      object: 'list',
      data: [{ id: 'tiny-llama', object: 'model', created: expect.any(Number), owned_by: 'llm-inference' }],
    });

    // The secret is returned once: listing shows the prefix, never the key or its hash.
    const list = await t.request('GET', `/admin/tenants/${tenant.id}/keys`, { token: admin });
    expect(list.status).toBe(200);
    expect(list.body.total).toBe(1);
    expect(list.text).not.toContain(key.key.split('-').slice(2).join('-'));
    expect(list.body.data[0]).not.toHaveProperty('key');
    expect(list.body.data[0]).not.toHaveProperty('secret_hash');

    // Only the SHA-256 of the secret is stored.
    const [row] = await t.app
      .get(DataSourceToken)
      .query('SELECT secret_hash FROM api_keys WHERE id = $1', [key.id]);
    expect(row.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row.secret_hash).not.toContain(key.key);
  });

  it.each([
    ['no key', ''],
    ['a malformed key', 'Bearer not-a-key'],
    ['an unknown key', 'Bearer sk-aaaaaaaaaaaa-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['an empty bearer', 'Bearer '],
  ])('%s gets 401 invalid_api_key in OpenAI shape', async (_label, authorization) => {
    const res = await t.request('GET', '/v1/models', { headers: authorization ? { authorization } : {} });
    expectOpenAIError(res, 401, 'invalid_api_key');
  });

  it('a key with a wrong secret but a real prefix gets 401', async () => {
    const tenant = await createTenant('wrong-secret');
    const key = await createKey(tenant.id);
    const forged = `sk-${key.prefix}-${'A'.repeat(43)}`;
    expectOpenAIError(await t.request('GET', '/v1/models', { apiKey: forged }), 401, 'invalid_api_key');
  });

  it('a revoked key gets 401 at once (and the revoke is audited)', async () => {
    const tenant = await createTenant('revoker');
    const key = await createKey(tenant.id);
    expect((await t.request('GET', '/v1/models', { apiKey: key.key })).status).toBe(200);
    const revoke = await t.request('POST', `/admin/tenants/${tenant.id}/keys/${key.id}/revoke`, {
      token: admin,
    });
    expect(revoke.status).toBe(200);
    expect(revoke.body.revoked_at).not.toBeNull();
    const res = await t.request('GET', '/v1/models', { apiKey: key.key });
    expect(expectOpenAIError(res, 401, 'invalid_api_key').message).toMatch(/revoked/);
    expect(await audit(tenant.id)).toEqual(['tenant.create', 'key.create', 'key.revoke']);
  });

  it('a revoke written by another replica (straight to Postgres) is visible within 5 s', async () => {
    const tenant = await createTenant('other-replica');
    const key = await createKey(tenant.id);
    expect((await t.request('GET', '/v1/models', { apiKey: key.key })).status).toBe(200);
    await t.app.get(DataSourceToken).query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [key.id]);
    const started = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - started < 6000) {
      status = (await t.request('GET', '/v1/models', { apiKey: key.key })).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(401);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('an expired key gets 401', async () => {
    const tenant = await createTenant('expiring');
    const key = await createKey(tenant.id, {
      name: 'short',
      expires_at: new Date(Date.now() + 1500).toISOString(),
    });
    expect((await t.request('GET', '/v1/models', { apiKey: key.key })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1700));
    const res = await t.request('GET', '/v1/models', { apiKey: key.key });
    expect(expectOpenAIError(res, 401, 'invalid_api_key').message).toMatch(/expired/);
  });

  it('a key in the past cannot be created', async () => {
    const tenant = await createTenant('past');
    const res = await t.request('POST', `/admin/tenants/${tenant.id}/keys`, {
      token: admin,
      body: { name: 'old', expires_at: '2001-01-01T00:00:00Z' },
    });
    expect(expectOpenAIError(res, 400).param).toBe('expires_at');
  });

  it('a suspended tenant gets 401; reactivated it works again', async () => {
    const tenant = await createTenant('suspendable');
    const key = await createKey(tenant.id);
    expect(
      (await t.request('POST', `/admin/tenants/${tenant.id}/suspend`, { token: admin })).body.status,
    ).toBe('suspended');
    const res = await t.request('GET', '/v1/models', { apiKey: key.key });
    expect(expectOpenAIError(res, 401, 'invalid_api_key').message).toMatch(/suspended/);
    expect((await t.request('POST', `/admin/tenants/${tenant.id}/activate`, { token: admin })).status).toBe(
      200,
    );
    expect((await t.request('GET', '/v1/models', { apiKey: key.key })).status).toBe(200);
    expect(await audit(tenant.id)).toEqual([
      'tenant.create',
      'key.create',
      'tenant.suspend',
      'tenant.activate',
    ]);
  });

  it('rotation issues a new key and keeps the old one valid for the grace period', async () => {
    const tenant = await createTenant('rotator');
    const old = await createKey(tenant.id, { name: 'svc' });
    const rotated = await t.request('POST', `/admin/tenants/${tenant.id}/keys/${old.id}/rotate`, {
      token: admin,
      body: { grace_period_seconds: 1 },
    });
    expect(rotated.status).toBe(201);
    expect(rotated.body.key).not.toBe(old.key);
    expect(rotated.body.rotated_from_id).toBe(old.id);
    expect(rotated.body.name).toBe('svc');
    expect(new Date(rotated.body.previous_key.expires_at).getTime()).toBeLessThanOrEqual(Date.now() + 1500);
    expect((await t.request('GET', '/v1/models', { apiKey: old.key })).status).toBe(200);
    expect((await t.request('GET', '/v1/models', { apiKey: rotated.body.key })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1300));
    expectOpenAIError(await t.request('GET', '/v1/models', { apiKey: old.key }), 401, 'invalid_api_key');
    expect((await t.request('GET', '/v1/models', { apiKey: rotated.body.key })).status).toBe(200);
    // A revoked key cannot be rotated.
    await t.request('POST', `/admin/tenants/${tenant.id}/keys/${rotated.body.id}/revoke`, { token: admin });
    const again = await t.request('POST', `/admin/tenants/${tenant.id}/keys/${rotated.body.id}/rotate`, {
      token: admin,
      body: {},
    });
    expectOpenAIError(again, 409, 'key_not_active');
    expect(await audit(tenant.id)).toEqual(['tenant.create', 'key.create', 'key.rotate', 'key.revoke']);
  });

  it('tenant_admin manages its own tenant only: 403 on another tenant', async () => {
    const a = await createTenant('tenant-a');
    const b = await createTenant('tenant-b');
    const aAdmin = t.token('tenant_admin', a.id, 'bob');
    const own = await createKey(a.id, { name: 'mine' }, aAdmin);
    expect(own.tenant_id).toBe(a.id);
    expect((await t.request('GET', `/admin/tenants/${a.id}/keys`, { token: aAdmin })).status).toBe(200);

    expectOpenAIError(
      await t.request('GET', `/admin/tenants/${b.id}/keys`, { token: aAdmin }),
      403,
      'tenant_forbidden',
    );
    expectOpenAIError(
      await t.request('POST', `/admin/tenants/${b.id}/keys`, { token: aAdmin, body: { name: 'x' } }),
      403,
      'tenant_forbidden',
    );
    expectOpenAIError(await t.request('GET', `/admin/tenants/${b.id}`, { token: aAdmin }), 403);
    // Tenant-level mutations are for admins only.
    expectOpenAIError(
      await t.request('POST', '/admin/tenants', { token: aAdmin, body: { name: 'sneaky' } }),
      403,
      'insufficient_role',
    );
    expectOpenAIError(await t.request('POST', `/admin/tenants/${a.id}/suspend`, { token: aAdmin }), 403);
    // Listing tenants shows only its own.
    const list = await t.request('GET', '/admin/tenants', { token: aAdmin });
    expect(list.body.data.map((x: { id: string }) => x.id)).toEqual([a.id]);
    // The audit row names the tenant admin.
    const rows = await t.request('GET', `/admin/audit?tenant_id=${a.id}`, { token: admin });
    expect(rows.body.data[0]).toMatchObject({
      action: 'key.create',
      actor: 'bob',
      actor_role: 'tenant_admin',
    });
  });

  it('admin endpoints reject missing, forged, expired and API-key tokens with 401', async () => {
    expectOpenAIError(await t.request('GET', '/admin/tenants'), 401, 'invalid_admin_token');
    const forged = admin.slice(0, -4) + (admin.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expectOpenAIError(
      await t.request('GET', '/admin/tenants', { token: forged }),
      401,
      'invalid_admin_token',
    );
    const { mintAdminToken } = await import('@app/auth');
    const otherSecret = mintAdminToken({ secret: 'x'.repeat(40), sub: 'eve', role: 'admin', ttlSeconds: 60 });
    expectOpenAIError(await t.request('GET', '/admin/tenants', { token: otherSecret }), 401);
    const expired = (await import('jsonwebtoken')).default.sign(
      { sub: 'old', role: 'admin', exp: Math.floor(Date.now() / 1000) - 10 },
      t.config.adminJwtSecret!,
      { issuer: 'llm-inference' },
    );
    expectOpenAIError(await t.request('GET', '/admin/tenants', { token: expired }), 401);
    const tenant = await createTenant('key-as-token');
    const key = await createKey(tenant.id);
    expectOpenAIError(await t.request('GET', '/admin/tenants', { token: key.key }), 401);
  });

  it('tenants: duplicate names 409, get/update/delete, pagination, audit of every mutation', async () => {
    const tenant = await createTenant('dupe');
    expectOpenAIError(
      await t.request('POST', '/admin/tenants', { token: admin, body: { name: 'dupe' } }),
      409,
    );
    const renamed = await t.request('PATCH', `/admin/tenants/${tenant.id}`, {
      token: admin,
      body: { name: 'dupe-2' },
    });
    expect(renamed.body.name).toBe('dupe-2');
    expect((await t.request('GET', `/admin/tenants/${tenant.id}`, { token: admin })).body.name).toBe(
      'dupe-2',
    );

    const first = await t.request('GET', '/admin/tenants?limit=2&offset=0', { token: admin });
    const second = await t.request('GET', '/admin/tenants?limit=2&offset=2', { token: admin });
    expect(first.body.data).toHaveLength(2);
    expect(first.body.has_more).toBe(true);
    expect(first.body.total).toBe(second.body.total);
    expect(second.body.data[0].id).not.toBe(first.body.data[1].id);

    const deleted = await t.request('DELETE', `/admin/tenants/${tenant.id}`, { token: admin });
    expect(deleted.body).toEqual({ id: tenant.id, object: 'tenant', deleted: true });
    expectOpenAIError(
      await t.request('GET', `/admin/tenants/${tenant.id}`, { token: admin }),
      404,
      'tenant_not_found',
    );
    expect(await audit(tenant.id)).toEqual(['tenant.create', 'tenant.update', 'tenant.delete']);
    const rows = await t.request('GET', `/admin/audit?tenant_id=${tenant.id}`, { token: admin });
    expect(
      rows.body.data.every((r: { actor: string; request_id: string }) => r.actor === 'alice' && r.request_id),
    ).toBe(true);
  });

  it('last_used_at is written on first use, not on every request', async () => {
    const tenant = await createTenant('usage');
    const key = await createKey(tenant.id);
    const ds = t.app.get(DataSourceToken);
    for (let i = 0; i < 3; i++)
      expect((await t.request('GET', '/v1/models', { apiKey: key.key })).status).toBe(200);
    let first: Date | null = null;
    for (let i = 0; i < 50 && !first; i++) {
      [{ last_used_at: first }] = await ds.query('SELECT last_used_at FROM api_keys WHERE id = $1', [key.id]);
      if (!first) await new Promise((r) => setTimeout(r, 20));
    }
    expect(first).not.toBeNull();
    await new Promise((r) => setTimeout(r, 50));
    expect((await t.request('GET', '/v1/models', { apiKey: key.key })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    const [{ last_used_at: after }] = await ds.query('SELECT last_used_at FROM api_keys WHERE id = $1', [
      key.id,
    ]);
    expect(new Date(after).getTime()).toBe(new Date(first!).getTime());
  });
});

// The TypeORM DataSource class is the DI token of the default connection.
import { DataSource as DataSourceToken } from 'typeorm';
