import Fastify from 'fastify';
import { Writable } from 'node:stream';
import { createLogger } from '../logging/logger';
import { installHttpHooks, InFlightTracker } from './http-hooks';
import { REQUEST_ID_HEADER } from './request-id';

describe('installHttpHooks', () => {
  it('logs one JSON line per request (no query string), echoes the request id, counts in-flight', async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()));
        done();
      },
    });
    const logger = createLogger('info', stream);
    const tracker = new InFlightTracker();
    const app = Fastify();
    installHttpHooks(app, logger, tracker);
    let during = -1;
    app.get('/x', async () => {
      during = tracker.inFlight;
      return { ok: true };
    });
    app.get('/boom', async () => {
      throw new Error('boom');
    });
    const res = await app.inject({ method: 'GET', url: '/x?token=sk-abcd-secretsecret' });
    await app.inject({ method: 'GET', url: '/boom' });
    await app.close();
    expect(res.statusCode).toBe(200);
    expect(res.headers[REQUEST_ID_HEADER]).toBeTruthy();
    expect(during).toBe(1);
    expect(tracker.inFlight).toBe(0);
    const requests = lines.filter((l) => l.msg === 'request');
    expect(requests).toHaveLength(2);
    expect(requests[0]).toMatchObject({
      level: 'info',
      service: 'llm-inference',
      method: 'GET',
      url: '/x',
      statusCode: 200,
      requestId: res.headers[REQUEST_ID_HEADER],
    });
    expect(typeof requests[0].durationMs).toBe('number');
    expect(requests[1]).toMatchObject({ level: 'error', url: '/boom', statusCode: 500 });
    expect(JSON.stringify(lines)).not.toContain('secretsecret');
  });
});
