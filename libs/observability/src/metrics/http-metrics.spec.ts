import Fastify, { FastifyInstance } from 'fastify';
import { register } from 'prom-client';
import { installHttpMetrics } from './http-metrics';
import { parsePromText, sampleSum } from './prom-text';

// Real Fastify, real sockets: the HTTP series follow requests to their last byte.
describe('installHttpMetrics', () => {
  let app: FastifyInstance;
  let base: string;
  let release: () => void = () => undefined;

  const value = async (name: string, labels: Record<string, string>) =>
    sampleSum(parsePromText(await register.metrics()), name, labels);

  beforeAll(async () => {
    app = Fastify({ forceCloseConnections: true });
    installHttpMetrics(app);
    app.get('/items/:id', async () => ({ ok: true }));
    app.get('/metrics', async () => 'metrics');
    app.get('/stream', (request, reply) => {
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'text/event-stream' });
      reply.raw.write('data: first\n\n');
      void new Promise<void>((resolve) => (release = resolve)).then(() => reply.raw.end('data: [DONE]\n\n'));
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(() => app.close());

  it('labels by route template and status; 404s are "unmatched"; /metrics is not counted', async () => {
    await fetch(`${base}/items/1`);
    await fetch(`${base}/items/2`);
    await fetch(`${base}/nope`);
    await fetch(`${base}/metrics`);
    expect(
      await value('llm_http_requests_total', { method: 'GET', route: '/items/:id', status: '200' }),
    ).toBe(2);
    expect(await value('llm_http_requests_total', { route: 'unmatched', status: '404' })).toBe(1);
    expect(await value('llm_http_request_duration_seconds_count', { route: '/items/:id' })).toBe(2);
    expect(await value('llm_http_requests_total', { route: '/metrics' })).toBeUndefined();
  });

  it('counts a hijacked SSE stream in flight until its last byte', async () => {
    const res = await fetch(`${base}/stream`);
    const reader = res.body!.getReader();
    await reader.read();
    expect(await value('llm_http_requests_in_flight', { route: '/stream' })).toBe(1);
    expect(await value('llm_http_requests_total', { route: '/stream' })).toBeUndefined();
    release();
    while (!(await reader.read()).done);
    await new Promise((r) => setTimeout(r, 20));
    expect(await value('llm_http_requests_in_flight', { route: '/stream' })).toBe(0);
    expect(await value('llm_http_requests_total', { route: '/stream', status: '200' })).toBe(1);
  });

  it('a client that goes away mid-stream ends the request (in flight back to 0)', async () => {
    const controller = new AbortController();
    const res = await fetch(`${base}/stream`, { signal: controller.signal });
    await res.body!.getReader().read();
    expect(await value('llm_http_requests_in_flight', { route: '/stream' })).toBe(1);
    controller.abort();
    for (let i = 0; i < 50 && (await value('llm_http_requests_in_flight', { route: '/stream' })) !== 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(await value('llm_http_requests_in_flight', { route: '/stream' })).toBe(0);
    expect(await value('llm_http_requests_total', { route: '/stream' })).toBe(2);
    release();
  });
});
