import { request as httpRequest } from 'node:http';
import { shutdownGracefully } from '../../apps/gateway/src/boot/graceful-shutdown';
import { expectOpenAIError, startTestApp, TestApp } from '../helpers';

describe('gateway platform: health, readiness, docs, request ids, errors, shutdown', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ label: 'platform' });
  });
  afterAll(() => t?.close());

  it('GET /health is 200', async () => {
    const res = await t.request('GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('GET /ready checks the database; the engine shows as not configured until it registers', async () => {
    const res = await t.request('GET', '/ready');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ready');
    expect(res.body.checks.database).toEqual({ ok: true, status: 'up' });
    expect(res.body.checks.engine.status).toBe('not configured');
  });

  it('a failing readiness contributor makes /ready 503 in OpenAI shape', async () => {
    const { ReadinessRegistry } = await import('@app/common');
    const registry = t.app.get(ReadinessRegistry);
    registry.register({ name: 'engine', check: async () => ({ ok: false, status: 'loading' }) });
    try {
      const res = await t.request('GET', '/ready');
      expectOpenAIError({ ...res, body: { error: res.body.error } }, 503, 'not_ready');
      expect(res.body.checks.engine).toEqual({ ok: false, status: 'loading' });
    } finally {
      registry.unregister('engine');
    }
  });

  it('serves OpenAPI docs at /docs', async () => {
    const html = await t.request('GET', '/docs');
    expect(html.status).toBe(200);
    expect(html.text).toMatch(/swagger/i);
    const spec = await t.request('GET', '/docs-json');
    expect(spec.status).toBe(200);
    expect(Object.keys(spec.body.paths)).toEqual(
      expect.arrayContaining(['/v1/models', '/admin/tenants', '/health', '/v1/files', '/v1/batches']),
    );
    // The upload is described as the multipart form it is, so /docs can send one.
    expect(Object.keys(spec.body.paths['/v1/files'].post.requestBody.content)).toEqual([
      'multipart/form-data',
    ]);
  });

  it('echoes a client x-request-id and generates one otherwise, also on errors', async () => {
    const given = await t.request('GET', '/health', { headers: { 'x-request-id': 'trace-123' } });
    expect(given.headers.get('x-request-id')).toBe('trace-123');
    const generated = await t.request('GET', '/v1/models');
    expect(generated.status).toBe(401);
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const hostile = await t.request('GET', '/health', { headers: { 'x-request-id': 'a b\tc' } });
    expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('graceful shutdown drains an in-flight request before closing', async () => {
    const other = await startTestApp({ label: 'drain' });
    const url = new URL(other.baseUrl);
    // A request whose body is still arriving is in flight.
    const response = new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: '/admin/tenants',
          headers: { 'content-type': 'application/json', 'content-length': '13' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.write('{"name":');
      setTimeout(() => req.end('"x"} '), 400);
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(other.tracker.inFlight).toBe(1);
    const logger = (await import('@app/common')).createLogger('silent');
    const started = Date.now();
    await shutdownGracefully({ app: other.app, tracker: other.tracker, logger, timeoutMs: 5000 }, 'test');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    // The in-flight request completed (401: it carried no admin token) instead of being cut off.
    expect(await response).toBe(401);
    await expect(fetch(other.baseUrl + '/health')).rejects.toThrow();
    await other.db.drop();
  });
});
