import { createServer, Server } from 'node:http';
import { Tracing } from '@app/observability';
import { InferenceApp, startInferenceApp } from './support/inference-app';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
}

// OpenTelemetry over OTLP/HTTP (JSON) to a real local receiver: one trace per request, with the
// auth, quota, lane wait, engine prefill/decode and metering spans under the HTTP root span.
describe('tracing (OTEL_EXPORTER_OTLP_ENDPOINT set)', () => {
  let app: InferenceApp;
  let receiver: Server;
  const spans: OtlpSpan[] = [];
  const services = new Set<string>();

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        if (req.url === '/v1/traces') {
          const parsed = JSON.parse(body) as {
            resourceSpans: {
              resource: { attributes: { key: string; value: { stringValue?: string } }[] };
              scopeSpans: { spans: OtlpSpan[] }[];
            }[];
          };
          for (const rs of parsed.resourceSpans) {
            for (const a of rs.resource.attributes)
              if (a.key === 'service.name') services.add(String(a.value.stringValue));
            for (const ss of rs.scopeSpans) spans.push(...ss.spans);
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const address = receiver.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    app = await startInferenceApp('metricstrace', {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_SERVICE_NAME: 'llm-e2e',
    });
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('exports one trace per chat request with the request-path spans as children', async () => {
    const chat = await app.request('POST', '/v1/chat/completions', {
      apiKey: app.apiKey,
      body: {
        model: 'tiny-llama',
        messages: [{ role: 'user', content: 'trace me' }],
        max_tokens: 6,
        ignore_eos: true,
      },
    });
    expect(chat.status).toBe(200);
    const requestId = chat.headers.get('x-request-id')!;
    const tracing = app.app.get(Tracing);
    const wanted = [
      'auth',
      'quota.reserve',
      'lane.wait',
      'engine.prefill',
      'engine.decode',
      'metering.record',
    ];
    let root: OtlpSpan | undefined;
    for (let i = 0; i < 50; i++) {
      await tracing.flush();
      root = spans.find((s) => s.name === 'POST /v1/chat/completions');
      if (root && wanted.every((n) => spans.some((s) => s.name === n && s.traceId === root!.traceId))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(services).toEqual(new Set(['llm-e2e']));
    expect(root).toBeDefined();
    const trace = spans.filter((s) => s.traceId === root!.traceId);
    expect(trace.map((s) => s.name).sort()).toEqual([...wanted, 'POST /v1/chat/completions'].sort());
    for (const s of trace.filter((x) => x !== root)) {
      expect({ name: s.name, parent: s.parentSpanId }).toEqual({ name: s.name, parent: root!.spanId });
      expect(BigInt(s.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(s.startTimeUnixNano));
    }
    const byName = (n: string) => trace.find((s) => s.name === n)!;
    // Engine phases in order: prefill ends where decode starts.
    expect(BigInt(byName('engine.prefill').endTimeUnixNano)).toBeLessThanOrEqual(
      BigInt(byName('engine.decode').startTimeUnixNano) + 1_000_000n,
    );
    expect(requestId).toBeTruthy();
    // GET /metrics is not traced.
    await app.request('GET', '/metrics');
    await tracing.flush();
    expect(spans.some((s) => s.name.includes('/metrics'))).toBe(false);
  }, 60_000);
});
