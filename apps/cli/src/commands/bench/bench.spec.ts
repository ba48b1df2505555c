import { histogramSvg, throughputSvg } from './html-report';
import { isLoopbackHost } from './options';
import { RequestRecord } from './request';
import { distribution, percentile, summarize, tpot } from './stats';
import { prng } from './prng';

const rec = (over: Partial<RequestRecord>): RequestRecord => ({
  index: 0,
  startMs: 0,
  status: 200,
  ok: true,
  ttftMs: 10,
  e2eMs: 100,
  itlMs: [],
  promptTokens: 5,
  outputTokens: 10,
  ...over,
});

test('percentiles interpolate linearly (numpy default)', () => {
  const s = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  expect(percentile(s, 50)).toBe(5.5);
  expect(percentile(s, 90)).toBeCloseTo(9.1);
  expect(percentile(s, 99)).toBeCloseTo(9.91);
  expect(percentile([7], 99)).toBe(7);
  expect(distribution([])).toBeNull();
  expect(distribution([3, 1, 2])).toMatchObject({ count: 3, min: 1, max: 3, p50: 2, mean: 2 });
});

test('TPOT excludes the first token; goodput counts requests meeting every SLO', () => {
  expect(tpot(rec({ ttftMs: 10, e2eMs: 100, outputTokens: 10 }))).toBe(10);
  expect(tpot(rec({ outputTokens: 1 }))).toBeNull();
  expect(tpot(rec({ ttftMs: null }))).toBeNull();
  const records = [
    rec({ ttftMs: 10, e2eMs: 100, outputTokens: 10 }), // tpot 10
    rec({ ttftMs: 50, e2eMs: 100, outputTokens: 11 }), // ttft too slow for 20 ms
    rec({ ttftMs: 5, e2eMs: 500, outputTokens: 11 }), // tpot 49.5
    rec({ ok: false, status: 429 }),
    rec({ ok: false, status: 0 }),
  ];
  const s = summarize(records, 2000, 3, { ttftMs: 20, tpotMs: 20 });
  expect(s.requests).toEqual({
    total: 8,
    completed: 3,
    failed: 2,
    not_sent: 3,
    errors_by_status: { '429': 1, network: 1 },
    error_rate: 0.4,
  });
  expect(s.goodput).toEqual({ slo_ttft_ms: 20, slo_tpot_ms: 20, requests: 1, per_s: 0.5 });
  expect(s.request_throughput).toBe(1.5);
  expect(s.output_tokens).toBe(32);
  expect(s.output_token_throughput).toBe(16);
});

test('only loopback hosts count as local', () => {
  for (const h of ['localhost', '127.0.0.1', '127.1.2.3', '[::1]', '::ffff:127.0.0.1', 'api.localhost'])
    expect(isLoopbackHost(h)).toBe(true);
  for (const h of ['10.0.0.1', '0.0.0.0', 'example.com', '192.168.1.1', '[::2]', 'localhost.example.com'])
    expect(isLoopbackHost(h)).toBe(false);
});

test('the seeded PRNG is deterministic and its exponential gaps have mean 1/rate', () => {
  const a = prng(42);
  const b = prng(42);
  expect([a(), a(), a()]).toEqual([b(), b(), b()]);
  const r = prng(7);
  let sum = 0;
  for (let i = 0; i < 20000; i++) sum += -Math.log(1 - r()) / 50;
  expect(sum / 20000).toBeCloseTo(1 / 50, 3);
});

test('report charts are inline SVG and escape text', () => {
  const svg = histogramSvg('<TTFT>', [1, 2, 2, 3, 10]);
  expect(svg).toMatch(/^<svg /);
  expect(svg).toContain('&lt;TTFT&gt;');
  expect(svg.match(/<rect /g)).toHaveLength(20);
  expect(histogramSvg('x', [])).toContain('no data');
  const t = throughputSvg([rec({ startMs: 0, e2eMs: 500 }), rec({ startMs: 1200, e2eMs: 300 })], 2000);
  expect(t.match(/<path /g)).toHaveLength(2);
});
