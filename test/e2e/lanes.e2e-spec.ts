import { ENGINE_PROVIDER, EngineProvider } from '@app/engine';
import { InferenceApp, latestUsageRow, startInferenceApp, usageRow } from './support/inference-app';

// Priority lanes, fairness, shedding and disconnects on a saturated real engine (mid fixture model,
// one engine slot so that the gateway's LaneScheduler decides every admission).
const model = 'mid-llama';

interface Done {
  tag: string;
  status: number;
  tokens: number;
  at: number;
}

describe('lanes on a saturated engine', () => {
  let app: InferenceApp;
  let engine: EngineProvider;

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
  }, 120_000);
  afterAll(() => app?.close());

  const send = (key: string, tag: string, body: object, out: Done[]) =>
    app
      .request('POST', '/v1/completions', {
        apiKey: key,
        body: { model, prompt: `${tag} says`, temperature: 0, ignore_eos: true, ...body },
      })
      .then((r) => {
        out.push({ tag, status: r.status, tokens: r.body?.usage?.completion_tokens ?? 0, at: Date.now() });
        return r;
      });

  it('interactive requests complete before batch requests submitted earlier', async () => {
    const done: Done[] = [];
    const batch = Array.from({ length: 4 }, (_, i) =>
      send(app.apiKey, `batch${i}`, { max_tokens: 150, service_tier: 'flex' }, done),
    );
    await new Promise((r) => setTimeout(r, 30));
    const interactive = send(app.apiKey, 'interactive', { max_tokens: 150, service_tier: 'priority' }, done);
    const all = await Promise.all([...batch, interactive]);
    expect(all.every((r) => r.status === 200)).toBe(true);
    expect(all[0].body.service_tier).toBe('flex');
    expect(all[4].body.service_tier).toBe('priority');
    const order = done.map((d) => d.tag);
    // At most the one batch request already in the engine finishes first.
    expect(order.indexOf('interactive')).toBeLessThanOrEqual(1);
    expect(order.slice(order.indexOf('interactive') + 1).length).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('a tenant sending 10x the requests gets no more than its fair share of tokens', async () => {
    const quiet = await app.newTenantKey('lanes-quiet');
    // One request first, so the quiet tenant's key and policy are cached: under a loaded machine
    // their first lookup could otherwise land it in the queue well after the flood.
    await send(quiet, 'warm', { max_tokens: 1 }, []);
    const done: Done[] = [];
    const flood = Array.from({ length: 20 }, (_, i) =>
      send(app.apiKey, `flood${i}`, { max_tokens: 60 }, done),
    );
    await new Promise((r) => setTimeout(r, 20));
    const calm = Array.from({ length: 2 }, (_, i) => send(quiet, `quiet${i}`, { max_tokens: 60 }, done));
    await Promise.all([...flood, ...calm]);
    expect(done.every((d) => d.status === 200)).toBe(true);
    // Over the window in which both tenants were backlogged (until the quiet tenant's last
    // completion), the flooder got at most one request's tokens more than the quiet tenant.
    const lastQuiet = Math.max(...done.map((d, i) => (d.tag.startsWith('quiet') ? i : -1)));
    const window = done.slice(0, lastQuiet + 1);
    const tokens = (p: string) => window.filter((d) => d.tag.startsWith(p)).reduce((s, d) => s + d.tokens, 0);
    expect(tokens('quiet')).toBe(120);
    expect(tokens('flood')).toBeLessThanOrEqual(tokens('quiet') + 60 + 60); // + the one already running
    expect(lastQuiet).toBeLessThan(6); // FIFO would have put them at 21 and 22
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
      const body = { model, prompt: 'x', max_tokens: 600, ignore_eos: true, temperature: 0 };
      const flood = Array.from({ length: 12 }, () =>
        shedApp.request('POST', '/v1/completions', { apiKey: shedApp.apiKey, body }),
      );
      const first = await Promise.all(flood);
      const statuses = first.map((r) => r.status);
      // 1 running + 4 queued succeed (a few more if one finished while the flood was arriving).
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(5);
      const shed = first.filter((r) => r.status !== 200);
      expect(shed.length).toBeGreaterThanOrEqual(3);
      expect(shed.every((r) => r.status === 503)).toBe(true);
      for (const r of shed) {
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(r.body.error).toMatchObject({ type: 'server_error', code: 'server_overloaded' });
      }
      // Two tenants: the flooder is over its share and gets 429.
      const quiet = await shedApp.newTenantKey('shed-quiet');
      const before = process.memoryUsage().rss;
      const mixed = Array.from({ length: 200 }, (_, i) =>
        shedApp.request('POST', '/v1/completions', { apiKey: i === 100 ? quiet : shedApp.apiKey, body }),
      );
      const second = await Promise.all(mixed);
      const codes = second.map((r) => r.status);
      expect(codes[100]).toBe(200);
      // Alone, the flooder overloads the server (503); once the quiet tenant waits, it is over its share (429).
      expect(codes.filter((s) => s === 429).length).toBeGreaterThan(10);
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
      // A long request holds the only engine slot; three prompts (> 1 slot: waves) wait for it
      // past LANE_MAX_WAIT_MS and are shed.
      const long = waveApp.request('POST', '/v1/completions', {
        apiKey: waveApp.apiKey,
        body: { model, prompt: 'x', max_tokens: 2000, ignore_eos: true, temperature: 0 },
      });
      const engineOf = waveApp.app.get<EngineProvider>(ENGINE_PROVIDER);
      while (engineOf.stats().running === 0) await new Promise((r) => setTimeout(r, 10));
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
      expect((await long).status).toBe(200);
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
