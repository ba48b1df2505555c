import { expectOpenAIError, startTestApp, TestApp } from '../helpers';

/**
 * Bad input never crashes the gateway: every row is a 4xx in OpenAI's error shape.
 */
describe('bad input table (real HTTP, real Postgres)', () => {
  let t: TestApp;
  let admin: string;
  let tenantId: string;
  let keyId: string;
  let apiKey: string;

  beforeAll(async () => {
    t = await startTestApp({ label: 'badinput', env: { BODY_LIMIT_BYTES: '4096' } });
    admin = t.token('admin');
    const tenant = await t.request('POST', '/admin/tenants', { token: admin, body: { name: 'bad-input' } });
    tenantId = tenant.body.id;
    const key = await t.request('POST', `/admin/tenants/${tenantId}/keys`, {
      token: admin,
      body: { name: 'k' },
    });
    keyId = key.body.id;
    apiKey = key.body.key;
  });
  afterAll(() => t?.close());

  type Row = [
    string,
    string,
    () => string,
    { raw?: string; body?: unknown; headers?: Record<string, string> },
    number,
    string?,
  ];

  const json = { 'content-type': 'application/json' };
  const rows: Row[] = [
    [
      'malformed JSON',
      'POST',
      () => '/admin/tenants',
      { raw: '{"name": "x",', headers: json },
      400,
      'invalid_json',
    ],
    [
      'JSON with a trailing comma',
      'POST',
      () => '/admin/tenants',
      { raw: '{"name": "x",}', headers: json },
      400,
      'invalid_json',
    ],
    ['empty body with JSON content-type', 'POST', () => '/admin/tenants', { raw: '', headers: json }, 400],
    ['empty body without content-type', 'POST', () => '/admin/tenants', {}, 400],
    ['JSON null body', 'POST', () => '/admin/tenants', { raw: 'null', headers: json }, 400],
    ['JSON array body', 'POST', () => '/admin/tenants', { raw: '[]', headers: json }, 400],
    ['JSON string body', 'POST', () => '/admin/tenants', { raw: '"acme"', headers: json }, 400],
    [
      'unsupported content-type',
      'POST',
      () => '/admin/tenants',
      { raw: 'name=x', headers: { 'content-type': 'text/csv' } },
      415,
    ],
    ['wrong type: name is a number', 'POST', () => '/admin/tenants', { body: { name: 42 } }, 400],
    ['wrong type: name is an object', 'POST', () => '/admin/tenants', { body: { name: { $gt: '' } } }, 400],
    [
      'wrong type: status not allowed',
      'POST',
      () => '/admin/tenants',
      { body: { name: 'x1', status: 'deleted' } },
      400,
    ],
    ['unknown field', 'POST', () => '/admin/tenants', { body: { name: 'x2', admin: true } }, 400],
    [
      'prototype pollution field',
      'POST',
      () => '/admin/tenants',
      { raw: '{"name":"x3","__proto__":{"a":1}}', headers: json },
      400,
    ],
    ['missing name', 'POST', () => '/admin/tenants', { body: {} }, 400],
    ['empty name', 'POST', () => '/admin/tenants', { body: { name: '' } }, 400],
    ['whitespace-only name', 'POST', () => '/admin/tenants', { body: { name: '   \t ' } }, 400],
    ['NUL in name', 'POST', () => '/admin/tenants', { body: { name: 'a\u0000b' } }, 400],
    ['control character in name', 'POST', () => '/admin/tenants', { body: { name: 'a\u0007b' } }, 400],
    [
      'lone surrogate in name',
      'POST',
      () => '/admin/tenants',
      { raw: '{"name":"a\\ud800b"}', headers: json },
      400,
    ],
    ['line separator in name', 'POST', () => '/admin/tenants', { body: { name: 'a\u2028b' } }, 400],
    ['name too long (201 chars)', 'POST', () => '/admin/tenants', { body: { name: 'x'.repeat(201) } }, 400],
    [
      'oversized body',
      'POST',
      () => '/admin/tenants',
      { body: { name: 'x'.repeat(10_000) } },
      413,
      'request_too_large',
    ],
    ['invalid tenant UUID', 'GET', () => '/admin/tenants/not-a-uuid', {}, 400, 'invalid_uuid'],
    ['SQL in tenant id', 'GET', () => "/admin/tenants/1'%20OR%20'1'='1", {}, 400, 'invalid_uuid'],
    ['invalid key UUID', 'POST', () => `/admin/tenants/${tenantId}/keys/123/revoke`, {}, 400, 'invalid_uuid'],
    [
      'unknown tenant',
      'GET',
      () => '/admin/tenants/00000000-0000-4000-8000-000000000000',
      {},
      404,
      'tenant_not_found',
    ],
    [
      'unknown key',
      'POST',
      () => `/admin/tenants/${tenantId}/keys/00000000-0000-4000-8000-000000000000/revoke`,
      {},
      404,
      'key_not_found',
    ],
    [
      'key of another tenant path',
      'POST',
      () => `/admin/tenants/00000000-0000-4000-8000-000000000000/keys/${keyId}/revoke`,
      {},
      404,
    ],
    ['limit not a number', 'GET', () => '/admin/tenants?limit=abc', {}, 400],
    ['limit too large', 'GET', () => '/admin/tenants?limit=100000', {}, 400],
    ['negative offset', 'GET', () => '/admin/tenants?offset=-1', {}, 400],
    ['unknown query parameter', 'GET', () => '/admin/tenants?evil=1', {}, 400],
    [
      'scopes not an array',
      'POST',
      () => `/admin/tenants/${tenantId}/keys`,
      { body: { name: 'k', scopes: 'all' } },
      400,
    ],
    [
      'bad scope string',
      'POST',
      () => `/admin/tenants/${tenantId}/keys`,
      { body: { name: 'k', scopes: ['<script>'] } },
      400,
    ],
    [
      'expires_at not a date',
      'POST',
      () => `/admin/tenants/${tenantId}/keys`,
      { body: { name: 'k', expires_at: 'tomorrow' } },
      400,
    ],
    [
      'grace period negative',
      'POST',
      () => `/admin/tenants/${tenantId}/keys/${keyId}/rotate`,
      { body: { grace_period_seconds: -5 } },
      400,
    ],
    [
      'grace period a string',
      'POST',
      () => `/admin/tenants/${tenantId}/keys/${keyId}/rotate`,
      { body: { grace_period_seconds: '10' } },
      400,
    ],
    ['unknown route', 'GET', () => '/v1/nope', {}, 404, 'not_found'],
    ['wrong method', 'DELETE', () => '/v1/models', {}, 404],
    ['unknown model', 'GET', () => '/v1/models/gpt-9', {}, 404, 'model_not_found'],
  ];

  // Every row gets an explicit code slot (null = any), so Jest never mistakes a parameter for `done`.
  const table = rows.map((r) => [r[0], r[1], r[2], r[3], r[4], r[5] ?? null] as const);

  it.each(table)('%s -> %s', async (_label, method, path, input, status, code) => {
    const res = await t.request(method, path(), {
      token: path().startsWith('/admin') ? admin : undefined,
      apiKey: path().startsWith('/v1') ? apiKey : undefined,
      rawBody: input.raw,
      body: input.body,
      headers: input.headers,
    });
    const error = expectOpenAIError(res, status, code ?? undefined);
    expect(error.message.length).toBeGreaterThan(0);
  });

  it('names the offending field in param', async () => {
    const res = await t.request('POST', '/admin/tenants', {
      token: admin,
      body: { name: 'ok-name', colour: 'red' },
    });
    expect(expectOpenAIError(res, 400).param).toBe('colour');
    const res2 = await t.request('POST', '/admin/tenants', { token: admin, body: { name: 7 } });
    expect(expectOpenAIError(res2, 400).param).toBe('name');
  });

  it.each([
    ['emoji', '🦙 llama team 🚀'],
    ['CJK', '租户名称'],
    ['RTL', 'مستأجر'],
    ['combining marks', 'e\u0301te\u0301'],
    ['zero-width joiner family', '👨‍👩‍👧'],
    ['quotes and backslashes', `o'brien "\\x" \\`],
  ])('accepts unicode names: %s', async (_label, name) => {
    const res = await t.request('POST', '/admin/tenants', { token: admin, body: { name } });
    expect(res.status).toBe(201);
    expect(res.body.name).toBe(name);
    const got = await t.request('GET', `/admin/tenants/${res.body.id}`, { token: admin });
    expect(got.body.name).toBe(name);
  });

  it('the server still answers after all of the above', async () => {
    expect((await t.request('GET', '/health')).status).toBe(200);
    expect((await t.request('GET', '/ready')).status).toBe(200);
  });
});
