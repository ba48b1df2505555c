import { ENGINE_PROVIDER, EngineProvider } from '@app/engine';
import { LaneScheduler } from '@app/inference';
import { InferenceApp, latestUsageRow, startInferenceApp, usageRow } from './support/inference-app';

// Priority lanes, fairness, shedding and disconnects on a saturated real engine (mid fixture model,
// one engine slot so that the gateway's LaneScheduler decides every admission).
const model = 'mid-llama';

interface Done {
  tag: string;
  status: number;
  tokens: number;
}

/**
 * Holds the engine's only slot (taken straight from the gateway's scheduler) while `start`'s
 * requests arrive, until `ready` says they all reached it, then frees it and returns the answers:
 * what runs and what is shed is then the scheduler's choice alone, not the pace at which a loaded
 * machine delivers HTTP requests (20 short requests run in 250 ms, faster than CI may send them).
 */
async function whileHoldingTheSlot<T>(
  scheduler: LaneScheduler,
  start: () => Promise<T>[],
  ready: (answered: number) => boolean,
): Promise<T[]> {
  const slot = await scheduler.acquire({ tenantId: 'test-holder', lane: 'interactive', cost: 1 });
  let answered = 0;
  const requests = start().map((p) => p.finally(() => answered++));
  try {
    const deadline = Date.now() + 20_000;
    while (!ready(answered) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(ready(answered)).toBe(true);
  } finally {
    slot.release(0);
  }
  return Promise.all(requests);
}

const queuedIn = (scheduler: LaneScheduler) =>
  Object.values(scheduler.stats().queued).reduce((a, b) => a + b, 0);

describe('lanes on a saturated engine', () => {
  let app: InferenceApp;
  let engine: EngineProvider;
  let scheduler: LaneScheduler;

  beforeAll(async () => {
    app = await startInferenceApp(
      'lanes',
      {
        RATE_LIMIT: '100000/minute',
        QUOTA_MAX_CONCURRENT: '1000',
        LANE_QUEUE_DEPTH: '64',
        LANE_MAX_WAIT_MS: '60000',
      },
      { maxNumSeqs: 1, model },
    );
    engine = app.app.get<EngineProvider>(ENGINE_PROVIDER);
    scheduler = app.app.get(LaneScheduler);
  }, 120_000);
  afterAll(() => app?.close());

  const send = (key: string, tag: string, body: object, out: Done[]) =>
    app
      .request('POST', '/v1/completions', {
        apiKey: key,
        body: { model, prompt: `${tag} says`, temperature: 0, ignore_eos: true, ...body },
      })
      .then((r) => {
        out.push({ tag, status: r.status, tokens: r.body?.usage?.completion_tokens ?? 0 });
        return r;
      });

  it('interactive requests complete before batch requests submitted earlier', async () => {
    const done: Done[] = [];
    const all = await whileHoldingTheSlot(
      scheduler,
      () => [
        ...Array.from({ length: 4 }, (_, i) =>
          send(app.apiKey, `batch${i}`, { max_tokens: 150, service_tier: 'flex' }, done),
        ),
        send(app.apiKey, 'interactive', { max_tokens: 150, service_tier: 'priority' }, done),
      ],
      () => queuedIn(scheduler) === 5,
    );
    expect(all.every((r) => r.status === 200)).toBe(true);
    expect(all[0].body.service_tier).toBe('flex');
    expect(all[4].body.service_tier).toBe('priority');
    expect(done[0].tag).toBe('interactive'); // FIFO would have finished it last
  }, 60_000);

  it('a standard request does not wait for batch work to leave the engine: a batch sequence is preempted', async () => {
    const preemptionsBefore = engine.stats().preemptions;
    // The engine's one slot runs a long batch-lane request...
    const res = await fetch(`${app.baseUrl}/v1/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${app.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model,
        prompt: 'bulk work',
        max_tokens: 1500,
        ignore_eos: true,
        temperature: 0,
        stream: true,
        stream_options: { include_usage: true },
        service_tier: 'flex',
      }),
    });
    const reader = res.body!.getReader();
    await reader.read();
    let batchText = '';
    const batchDone = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return batchText;
        batchText += new TextDecoder().decode(value);
      }
    })();
    // ...and a standard request runs beside it at once, finishing while the batch one still streams.
    const short = await send(app.apiKey, 'standard', { max_tokens: 8 }, []);
    expect(short.status).toBe(200);
    expect(batchText).not.toContain('[DONE]');
    expect(engine.stats().preemptions).toBeGreaterThan(preemptionsBefore);
    // The preempted batch request resumes and completes whole.
    const text = await batchDone;
    const usage = JSON.parse(/data: (\{[^\n]*"usage":\{"prompt_tokens"[^\n]*)/.exec(text)![1]).usage;
    expect(usage.completion_tokens).toBe(1500);
  }, 60_000);

  it('a tenant sending 10x the requests gets no more than its fair share of tokens', async () => {
    const quiet = await app.newTenantKey('lanes-quiet');
    const done: Done[] = [];
    await whileHoldingTheSlot(
      scheduler,
      () => [
        ...Array.from({ length: 20 }, (_, i) => send(app.apiKey, `flood${i}`, { max_tokens: 60 }, done)),
        ...Array.from({ length: 2 }, (_, i) => send(quiet, `quiet${i}`, { max_tokens: 60 }, done)),
      ],
      () => queuedIn(scheduler) === 22,
    );
    expect(done.every((d) => d.status === 200 && d.tokens === 60)).toBe(true);
    // Up to the quiet tenant's last completion (both tenants backlogged all along), the flooder
    // got at most one request's tokens more than the quiet tenant; FIFO would have served
    // all 20 flood requests first.
    const lastQuiet = Math.max(...done.map((d, i) => (d.tag.startsWith('quiet') ? i : -1)));
    const window = done.slice(0, lastQuiet + 1);
    const tokens = (p: string) => window.filter((d) => d.tag.startsWith(p)).reduce((s, d) => s + d.tokens, 0);
    expect(tokens('quiet')).toBe(120);
    expect(tokens('flood')).toBeLessThanOrEqual(tokens('quiet') + 60);
  }, 60_000);

  it('sheds with 503 (one tenant) / 429 (tenant over share) and Retry-After; memory stays bounded', async () => {
    const shedApp = await startInferenceApp(
      'shed',
      {
        RATE_LIMIT: '100000/minute',
        QUOTA_MAX_CONCURRENT: '100000',
        LANE_QUEUE_DEPTH: '4',
        LANE_MAX_WAIT_MS: '20000',
      },
      { maxNumSeqs: 1, model },
    );
    try {
      const body = { model, prompt: 'x', max_tokens: 20, ignore_eos: true, temperature: 0 };
      const send = (key: string) => shedApp.request('POST', '/v1/completions', { apiKey: key, body });
      const shedScheduler = shedApp.app.get(LaneScheduler);
      // With the slot held: 4 queued (LANE_QUEUE_DEPTH) and 8 shed at once.
      const first = await whileHoldingTheSlot(
        shedScheduler,
        () => Array.from({ length: 12 }, () => send(shedApp.apiKey)),
        (answered) => answered === 8,
      );
      expect(first.filter((r) => r.status === 200).length).toBe(4);
      const shed = first.filter((r) => r.status !== 200);
      expect(shed.every((r) => r.status === 503)).toBe(true);
      for (const r of shed) {
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(r.body.error).toMatchObject({ type: 'server_error', code: 'server_overloaded' });
      }
      // Two tenants: once the quiet tenant waits, the flooder is over its share and gets 429
      // (the newest of its queued requests is shed to make room for the quiet one).
      const quiet = await shedApp.newTenantKey('shed-quiet');
      const before = process.memoryUsage().rss;
      const second = await whileHoldingTheSlot(
        shedScheduler,
        () => Array.from({ length: 200 }, (_, i) => send(i === 100 ? quiet : shedApp.apiKey)),
        (answered) => answered === 196,
      );
      const codes = second.map((r) => r.status);
      expect(codes[100]).toBe(200);
      expect(codes.filter((s) => s === 200).length).toBe(4);
      // Alone, the flooder overloads the server (503); after the quiet tenant, it is over its share (429).
      expect(codes.filter((s) => s === 429).length).toBeGreaterThan(50);
      expect(codes.every((s) => s === 200 || s === 429 || s === 503)).toBe(true);
      const tooMany = second.find((r) => r.status === 429)!;
      expect(Number(tooMany.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(tooMany.body.error.type).toBe('rate_limit_error');
      const growthMb = (process.memoryUsage().rss - before) / 2 ** 20;
      expect(growthMb).toBeLessThan(150);
      const ok = await shedApp.request('POST', '/v1/completions', {
        apiKey: quiet,
        body: { ...body, max_tokens: 2 },
      });
      expect(ok.status).toBe(200);
    } finally {
      await shedApp.close();
    }
  }, 120_000);

  it('a request run in waves whose next admission is refused answers 503 and bills only what ran', async () => {
    const waveApp = await startInferenceApp(
      'waves',
      {
        RATE_LIMIT: '100000/minute',
        QUOTA_MAX_CONCURRENT: '1000',
        LANE_QUEUE_DEPTH: '4',
        LANE_MAX_WAIT_MS: '300',
      },
      { maxNumSeqs: 1, model },
    );
    try {
      // The test holds the only engine slot; three prompts (> 1 slot: waves) wait for it past
      // LANE_MAX_WAIT_MS and are shed.
      const slot = await waveApp.app
        .get(LaneScheduler)
        .acquire({ tenantId: 'test-holder', lane: 'interactive', cost: 1 });
      const since = new Date();
      const waves = await waveApp.request('POST', '/v1/completions', {
        apiKey: waveApp.apiKey,
        body: { model, prompt: ['a', 'b', 'c'], max_tokens: 2, temperature: 0 },
      });
      expect(waves.status).toBe(503);
      expect(waves.body.error).toMatchObject({ code: 'server_overloaded' });
      expect(Number(waves.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      const row = await latestUsageRow(waveApp, 'rejected', since);
      expect(row).toMatchObject({ prompt_tokens: 0, completion_tokens: 0 });
      slot.release(0);
    } finally {
      await waveApp.close();
    }
  }, 60_000);

  it('a client disconnect mid-stream aborts the request and frees its KV blocks within 1 s', async () => {
    const controller = new AbortController();
    const res = await fetch(`${app.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      signal: controller.signal,
      headers: {
        authorization: `Bearer ${app.apiKey}`,
        'content-type': 'application/json',
        'x-request-id': 'disconnect-stream-1',
      },
      body: JSON.stringify({
        model,
        messages: [{ role: 'user', content: 'go' }],
        max_tokens: 4000,
        ignore_eos: true,
        stream: true,
      }),
    });
    const reader = res.body!.getReader();
    const firstChunk = new TextDecoder().decode((await reader.read()).value);
    const completionId = /"id":"([^"]+)"/.exec(firstChunk)?.[1];
    expect(completionId).toMatch(/^chatcmpl-/);
    await reader.read();
    expect(engine.stats().kvBlocksUsed).toBeGreaterThan(0);
    controller.abort();
    const t0 = Date.now();
    while (engine.stats().kvBlocksUsed > 0 || engine.stats().running > 0) {
      if (Date.now() - t0 > 1000) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(engine.stats()).toMatchObject({ kvBlocksUsed: 0, running: 0, waiting: 0 });
    expect(Date.now() - t0).toBeLessThan(1000);
    const row = await usageRow(app, completionId!);
    expect(row.status).toBe('aborted');
    expect(Number(row.completion_tokens)).toBeLessThan(4000);
  }, 30_000);

  it('a client disconnect on a non-streamed request aborts it too', async () => {
    const since = new Date();
    const controller = new AbortController();
    const pending = fetch(`${app.baseUrl}/v1/completions`, {
      method: 'POST',
      signal: controller.signal,
      headers: {
        authorization: `Bearer ${app.apiKey}`,
        'content-type': 'application/json',
        'x-request-id': 'disconnect-plain-1',
      },
      body: JSON.stringify({ model, prompt: 'go', max_tokens: 4000, ignore_eos: true }),
    }).catch(() => undefined);
    const t0 = Date.now();
    while (engine.stats().kvBlocksUsed === 0 && Date.now() - t0 < 2000)
      await new Promise((r) => setTimeout(r, 5));
    expect(engine.stats().kvBlocksUsed).toBeGreaterThan(0);
    controller.abort();
    await pending;
    const t1 = Date.now();
    while (engine.stats().kvBlocksUsed > 0 && Date.now() - t1 < 1000)
      await new Promise((r) => setTimeout(r, 10));
    expect(engine.stats().kvBlocksUsed).toBe(0);
    const row = await latestUsageRow(app, 'aborted', since);
    expect(row.status).toBe('aborted');
  }, 30_000);
});
