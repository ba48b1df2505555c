import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelRegistry } from '@app/inference';
import { parsePromText, sampleSum } from '@app/observability';
import {
  ensureModel,
  InferenceApp,
  latestUsageRow,
  startInferenceApp,
  usageRow,
} from './support/inference-app';

// MODELS_FILE: one gateway serving three models (the primary tiny-llama, a second native engine
// on the same weights, a remote model whose only upstream is down), a sticky A/B alias and
// fallbacks; real engines, real HTTP, real Postgres.
describe('several models, aliases and fallbacks (MODELS_FILE)', () => {
  let app: InferenceApp;
  let registry: ModelRegistry;

  let file: string;
  let spec: {
    models: Record<string, unknown>[];
    aliases: Record<string, { targets: Record<string, number>; assign: string }>;
    fallbacks: Record<string, string[]>;
    context_fallbacks: Record<string, string[]>;
    fallback_wait_ms: number;
  };

  beforeAll(async () => {
    const tiny = ensureModel('tiny-llama');
    file = join(mkdtempSync(join(tmpdir(), 'llm-models-')), 'models.json');
    spec = {
      models: [
        { id: 'tiny-b', path: tiny, max_num_seqs: 2, threads: 1 },
        // Port 9 (discard) refuses connections: the health check marks it down at once.
        { id: 'remote-down', path: tiny, upstreams: ['http://127.0.0.1:9'] },
        { id: 'tiny-short', path: tiny, max_model_length: 32, max_num_seqs: 2, threads: 1 },
      ],
      aliases: {
        ab: { targets: { 'tiny-llama': 1, 'tiny-b': 1 }, assign: 'key' },
        'ab-user': { targets: { 'tiny-llama': 1, 'tiny-b': 1 }, assign: 'user' },
        lb: { targets: { 'tiny-llama': 1, 'tiny-b': 1 }, assign: 'least_busy' },
      },
      fallbacks: { 'tiny-llama': ['tiny-b'], 'remote-down': ['tiny-llama'] },
      context_fallbacks: { 'tiny-short': ['tiny-b'] },
      fallback_wait_ms: 100,
    };
    writeFileSync(file, JSON.stringify(spec));
    app = await startInferenceApp(
      'models',
      {
        MODELS_FILE: file,
        RATE_LIMIT: '100000/minute',
        QUOTA_MAX_CONCURRENT: '1000',
        // A model with fallbacks is left after fallback_wait_ms (100), others after this.
        LANE_MAX_WAIT_MS: '2500',
      },
      { maxNumSeqs: 1 },
    );
    registry = app.app.get(ModelRegistry);
  }, 120_000);
  afterAll(() => app?.close());

  const complete = (model: string, apiKey = app.apiKey, prompt = 'Several models say') =>
    app.request('POST', '/v1/completions', {
      apiKey,
      body: { model, prompt, max_tokens: 8, temperature: 0, ignore_eos: true },
    });

  /** Takes `n` of a model's engine slots straight from its lane scheduler (release them after). */
  const hold = (id: string, n: number) =>
    Promise.all(
      Array.from({ length: n }, () =>
        registry.get(id).lanes.acquire({ tenantId: 'test-holder', lane: 'interactive', cost: 1 }),
      ),
    );
  const release = (held: { release(actual: number): void }[]) => held.forEach((h) => h.release(0));

  it('lists every served model and alias', async () => {
    const res = await app.request('GET', '/v1/models', { apiKey: app.apiKey });
    expect(res.status).toBe(200);
    expect(res.body.data.map((m: { id: string }) => m.id)).toEqual([
      'tiny-llama',
      'tiny-b',
      'remote-down',
      'tiny-short',
      'ab',
      'ab-user',
      'lb',
    ]);
    expect((await app.request('GET', '/v1/models/ab', { apiKey: app.apiKey })).status).toBe(200);
    const card = (id: string) => res.body.data.find((m: { id: string }) => m.id === id);
    expect(card('tiny-short').max_model_len).toBe(32); // its max_model_length, below the model's 2048
    expect(card('tiny-b').max_model_len).toBe(2048);
    const ready = await app.request('GET', '/ready');
    expect(ready.body.checks['engine:tiny-b']).toMatchObject({ ok: true, status: 'up' });
  });

  it('serves each model on its own engine, and bills and counts it under its id', async () => {
    const a = await complete('tiny-llama');
    const b = await complete('tiny-b');
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body.model).toBe('tiny-llama');
    expect(b.body.model).toBe('tiny-b');
    // Same weights, greedy: the same text from two engines.
    expect(b.body.choices[0].text).toBe(a.body.choices[0].text);
    expect(await usageRow(app, b.body.id as string)).toMatchObject({ model: 'tiny-b', completion_tokens: 8 });
    expect(await usageRow(app, a.body.id as string)).toMatchObject({
      model: 'tiny-llama',
      completion_tokens: 8,
    });
    const metrics = parsePromText((await app.request('GET', '/metrics')).text);
    expect(sampleSum(metrics, 'llm_engine_up', { model_name: 'tiny-b', provider: 'native' })).toBe(1);
    expect(
      sampleSum(metrics, 'llm_generation_tokens_total', { model_name: 'tiny-b' }),
    ).toBeGreaterThanOrEqual(8);
    expect(
      sampleSum(metrics, 'llm_engine_up', { model_name: 'remote-down', provider: 'remote' }),
    ).toBeDefined();
  });

  it('an A/B alias sends each API key to one model, always, and different keys to both', async () => {
    const seen = new Set<string>();
    const answers: { id: string; model: string }[] = [];
    for (let k = 0; k < 16; k++) {
      const key = await app.newTenantKey(`ab-${k}`);
      const first = await complete('ab', key);
      const second = await complete('ab', key);
      expect([first.status, second.status]).toEqual([200, 200]);
      expect(second.body.model).toBe(first.body.model);
      answers.push(first.body as { id: string; model: string });
      seen.add(first.body.model as string);
    }
    expect(seen).toEqual(new Set(['tiny-llama', 'tiny-b']));
    for (const { id, model } of answers) expect(await usageRow(app, id)).toMatchObject({ model });

    // assign 'user': the request's end user decides, whichever key sends it.
    const otherKey = await app.newTenantKey('ab-user-other');
    const users = new Set<string>();
    for (let u = 0; u < 16; u++) {
      const ask = (key: string) =>
        app.request('POST', '/v1/completions', {
          apiKey: key,
          body: { model: 'ab-user', prompt: 'hi', max_tokens: 1, user: `end-user-${u}` },
        });
      const [a, b] = [await ask(app.apiKey), await ask(otherKey)];
      expect(b.body.model).toBe(a.body.model);
      users.add(a.body.model as string);
    }
    expect(users).toEqual(new Set(['tiny-llama', 'tiny-b']));
  }, 60_000);

  it('a least_busy alias sends requests to the model with free engine slots', async () => {
    // tiny-llama's only slot taken: load 1 against tiny-b's 0.
    let held = await hold('tiny-llama', 1);
    for (let i = 0; i < 3; i++) expect((await complete('lb')).body.model).toBe('tiny-b');
    release(held);
    // Both of tiny-b's slots taken: load 1 against tiny-llama's 0.
    held = await hold('tiny-b', 2);
    for (let i = 0; i < 3; i++) expect((await complete('lb')).body.model).toBe('tiny-llama');
    release(held);
  });

  it('falls back to the next model when the first is overloaded, billing one request', async () => {
    // The test holds the primary's only engine slot: a request for it waits fallback_wait_ms
    // (100 ms, not LANE_MAX_WAIT_MS: 2,500), is refused 503 there, and runs on tiny-b instead.
    const primaryHeld = await hold('tiny-llama', 1);
    const since = new Date();
    try {
      const started = Date.now();
      const res = await complete('tiny-llama');
      expect(res.status).toBe(200);
      expect(res.body.model).toBe('tiny-b');
      expect(Date.now() - started).toBeLessThan(2000); // it did not wait out LANE_MAX_WAIT_MS
      expect(await usageRow(app, res.body.id as string)).toMatchObject({
        model: 'tiny-b',
        status: 'completed',
      });
      const metrics = parsePromText((await app.request('GET', '/metrics')).text);
      expect(
        sampleSum(metrics, 'llm_model_fallbacks_total', {
          model_name: 'tiny-llama',
          fallback: 'tiny-b',
          reason: 'overloaded',
        }),
      ).toBe(1);
      // The refusal on the primary is not a usage event of its own.
      await expect(latestUsageRow(app, 'rejected', since, 500)).rejects.toThrow(/no usage event/);

      // With tiny-b full as well, the last refusal answers (and is the one rejected event).
      const held = await hold('tiny-b', 2);
      try {
        const refused = await complete('tiny-llama');
        expect(refused.status).toBe(503);
        expect(refused.body.error).toMatchObject({ code: 'server_overloaded' });
        expect(await latestUsageRow(app, 'rejected', since)).toMatchObject({
          model: 'tiny-b',
          prompt_tokens: 0,
        });
        // A model without fallbacks answers its own refusal.
        expect((await complete('tiny-b')).status).toBe(503);
      } finally {
        release(held);
      }
    } finally {
      release(primaryHeld);
    }
  }, 30_000);

  it('falls back when a remote model has no healthy upstream', async () => {
    const remote = registry.get('remote-down').engineProvider!;
    const until = Date.now() + 10_000;
    while (remote.canAccept?.() !== false && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(remote.canAccept?.()).toBe(false);
    const res = await app.request('POST', '/v1/chat/completions', {
      apiKey: app.apiKey,
      body: { model: 'remote-down', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 },
    });
    expect(res.status).toBe(200);
    expect(res.body.model).toBe('tiny-llama');
  });

  it("a request longer than a model's context runs on its context fallback", async () => {
    const short = await complete('tiny-short', app.apiKey, 'Hi');
    expect(short.status).toBe(200);
    expect(short.body.model).toBe('tiny-short');
    // 8 output tokens after a prompt of 30: over tiny-short's 32, so tiny-b (2048) answers.
    const long = await app.request('POST', '/v1/completions', {
      apiKey: app.apiKey,
      body: {
        model: 'tiny-short',
        prompt: Array.from({ length: 30 }, (_, i) => 10 + i),
        max_tokens: 8,
        temperature: 0,
      },
    });
    expect(long.status).toBe(200);
    expect(long.body.model).toBe('tiny-b');
    const metrics = parsePromText((await app.request('GET', '/metrics')).text);
    expect(
      sampleSum(metrics, 'llm_model_fallbacks_total', {
        model_name: 'tiny-short',
        fallback: 'tiny-b',
        reason: 'context_length',
      }),
    ).toBe(1);
    expect(await usageRow(app, long.body.id as string)).toMatchObject({ model: 'tiny-b', prompt_tokens: 30 });
    // An overload is not a context refusal: tiny-short has no (overload) fallbacks.
    const held = await hold('tiny-short', 2);
    try {
      expect((await complete('tiny-short', app.apiKey, 'Hi')).status).toBe(503);
    } finally {
      release(held);
    }
  });

  it('tokenizes with a named model; an alias or an unknown model is a clear 4xx', async () => {
    const ok = await app.request('POST', '/tokenize', {
      apiKey: app.apiKey,
      body: { model: 'tiny-b', prompt: 'Several models say' },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.count).toBeGreaterThan(0);
    const alias = await app.request('POST', '/tokenize', {
      apiKey: app.apiKey,
      body: { model: 'ab', prompt: 'x' },
    });
    expect(alias.status).toBe(400);
    expect(alias.body.error).toMatchObject({ code: 'model_is_alias', param: 'model' });
    expect(alias.body.error.message).toMatch(/alias of tiny-llama, tiny-b/);
    const unknown = await complete('no-such-model');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'model_not_found', param: 'model' });
  });

  it("a tenant's allowed_models limits what it may call and list; a key narrows it further", async () => {
    const admin = app.token('admin');
    const t = await app.request('POST', '/admin/tenants', { token: admin, body: { name: 'models-limited' } });
    const k = await app.request('POST', `/admin/tenants/${t.body.id}/keys`, {
      token: admin,
      body: { name: 'k' },
    });
    const key = k.body.key as string;
    const put = await app.request('PUT', `/admin/tenants/${t.body.id}/quota`, {
      token: admin,
      body: { allowed_models: ['tiny-b', 'ab'] },
    });
    expect(put.status).toBe(200);
    expect(put.body.effective.allowed_models).toEqual(['tiny-b', 'ab']);
    const listed = await app.request('GET', '/v1/models', { apiKey: key });
    expect(listed.body.data.map((m: { id: string }) => m.id)).toEqual(['tiny-b', 'ab']);
    expect((await app.request('GET', '/v1/models/tiny-llama', { apiKey: key })).status).toBe(404);
    const refused = await complete('tiny-llama', key);
    expect(refused.status).toBe(404);
    expect(refused.body.error).toMatchObject({ code: 'model_not_found', param: 'model' });
    expect(refused.body.error.message).toMatch(/do not have access/);
    const tokenize = await app.request('POST', '/tokenize', { apiKey: key, body: { prompt: 'x' } });
    expect(tokenize.status).toBe(404); // no model named: the primary one, which this tenant may not use
    expect((await complete('tiny-b', key)).status).toBe(200);
    // An allowed alias may pick any of its models.
    expect((await complete('ab', key)).status).toBe(200);
    // The key's own list narrows the tenant's (a key cannot widen it).
    const keyPut = await app.request('PUT', `/admin/tenants/${t.body.id}/keys/${k.body.id}/quota`, {
      token: admin,
      body: { allowed_models: ['ab', 'tiny-llama'] },
    });
    expect(keyPut.status).toBe(200);
    expect(keyPut.body.effective.allowed_models).toEqual(['ab']);
    const bad = await app.request('PUT', `/admin/tenants/${t.body.id}/quota`, {
      token: admin,
      body: { allowed_models: [] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('allowed_models');
    // The policy cache (5 s) lets the key's list apply within its TTL.
    const until = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < until && (status = (await complete('tiny-b', key)).status) === 200)
      await new Promise((r) => setTimeout(r, 250));
    expect(status).toBe(404);
  }, 30_000);

  it('GET /admin/models shows engines and routes; a reload applies new alias weights; a model that does not load is refused', async () => {
    const admin = app.token('admin');
    const before = await app.request('GET', '/admin/models', { token: admin });
    expect(before.status).toBe(200);
    expect(before.body.models.map((m: { id: string }) => m.id)).toEqual([
      'tiny-llama',
      'tiny-b',
      'remote-down',
      'tiny-short',
    ]);
    expect(before.body.models[1]).toMatchObject({
      id: 'tiny-b',
      primary: false,
      ready: true,
      backend: 'cpu',
      embeddings: true,
      max_num_seqs: 2,
    });
    expect(before.body.models[2]).toMatchObject({ id: 'remote-down', ready: false });
    expect(before.body.aliases.ab).toEqual({ targets: { 'tiny-llama': 1, 'tiny-b': 1 }, assign: 'key' });
    expect(before.body.fallbacks).toEqual(spec.fallbacks);
    expect(before.body.context_fallbacks).toEqual({ 'tiny-short': ['tiny-b'] });
    const tenantAdmin = app.token('tenant_admin', '00000000-0000-4000-8000-000000000001');
    expect((await app.request('GET', '/admin/models', { token: tenantAdmin })).status).toBe(403);

    // Ramp the A/B test to 100 % tiny-b: every key now gets tiny-b.
    writeFileSync(
      file,
      JSON.stringify({ ...spec, aliases: { ab: { targets: { 'tiny-b': 1 }, assign: 'key' } } }),
    );
    const reloaded = await app.request('POST', '/admin/models/reload', { token: admin });
    expect(reloaded.status).toBe(200);
    expect(reloaded.body.aliases.ab.targets).toEqual({ 'tiny-b': 1 });
    for (let k = 0; k < 4; k++) {
      const r = await complete('ab', await app.newTenantKey(`ramped-${k}`));
      expect(r.body.model).toBe('tiny-b');
    }
    const audit = await app.request('GET', '/admin/audit?action=models.reload', { token: admin });
    expect(audit.body.data).toHaveLength(1);

    const ids = async () =>
      (await app.request('GET', '/admin/models', { token: admin })).body.models.map(
        (m: { id: string }) => m.id,
      );
    // A model that does not load (a directory without weights): refused, nothing changes.
    const notAModel = mkdtempSync(join(tmpdir(), 'llm-not-a-model-'));
    const ramped = { ...spec, aliases: { ab: { targets: { 'tiny-b': 1 }, assign: 'key' } } };
    writeFileSync(
      file,
      JSON.stringify({ ...ramped, models: [...spec.models, { id: 'broken', path: notAModel }] }),
    );
    const refused = await app.request('POST', '/admin/models/reload', { token: admin });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'invalid_models_file' });
    expect(refused.body.error.message).toMatch(/model 'broken' did not load/);
    expect(await ids()).toEqual(['tiny-llama', 'tiny-b', 'remote-down', 'tiny-short']);
    const reloads = parsePromText((await app.request('GET', '/metrics')).text);
    expect(sampleSum(reloads, 'llm_model_reloads_total', { result: 'applied' })).toBe(1);
    expect(sampleSum(reloads, 'llm_model_reloads_total', { result: 'refused' })).toBe(1);
  }, 30_000);

  it('a reload adds, replaces and removes models without a restart; a removed one finishes what it admitted', async () => {
    const admin = app.token('admin');
    const current = JSON.parse(readFileSync(file, 'utf8')) as typeof spec;
    const retiring = registry.get('tiny-short');
    const replacedB = registry.get('tiny-b');
    const held = await hold('tiny-short', 1); // a request admitted on the model about to go
    // A long answer streaming from the tiny-b about to be replaced: it must finish on the old engine.
    const longStream = fetch(`${app.baseUrl}/v1/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${app.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'tiny-b',
        prompt: 'a long answer',
        max_tokens: 1500,
        ignore_eos: true,
        stream: true,
        stream_options: { include_usage: true },
      }),
    }).then((r) => r.text());
    for (let i = 0; i < 200 && replacedB.lanes.stats().inFlight === 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(replacedB.lanes.stats().inFlight).toBe(1);
    // And a held slot, so that the old tiny-b has admitted work whatever the stream's pace (1,500
    // tiny-model tokens can end before two engines load on a busy machine).
    const heldB = await hold('tiny-b', 1);
    writeFileSync(
      file,
      JSON.stringify({
        ...current,
        models: [
          { ...spec.models[0], max_num_seqs: 3 }, // tiny-b: changed, loaded anew
          spec.models[1],
          { id: 'tiny-c', path: ensureModel('tiny-llama'), max_num_seqs: 2, threads: 1 }, // added
        ], // tiny-short: removed
        aliases: { ab: { targets: { 'tiny-b': 1 }, assign: 'key' } },
        context_fallbacks: {},
      }),
    );
    const res = await app.request('POST', '/admin/models/reload', { token: admin });
    expect(res.status).toBe(200);
    expect(res.body.changes).toEqual({ added: ['tiny-c'], replaced: ['tiny-b'], removed: ['tiny-short'] });
    expect(replacedB.lanes.stats().inFlight).toBeGreaterThanOrEqual(1); // the old engine still runs what it admitted
    expect(replacedB.engineProvider!.ready).toBe(true);
    expect(res.body.models.map((m: { id: string }) => m.id)).toEqual([
      'tiny-llama',
      'tiny-b',
      'remote-down',
      'tiny-c',
    ]);
    expect(res.body.models[1]).toMatchObject({ id: 'tiny-b', ready: true, max_num_seqs: 3 });

    const c = await complete('tiny-c');
    expect(c.status).toBe(200);
    expect(c.body.model).toBe('tiny-c');
    expect(c.body.usage.completion_tokens).toBe(8);
    expect(await usageRow(app, c.body.id as string)).toMatchObject({ model: 'tiny-c', completion_tokens: 8 });
    expect((await complete('ab')).body.model).toBe('tiny-b'); // the alias now reaches the new tiny-b
    expect((await complete('tiny-short')).status).toBe(404);
    const listed = (await app.request('GET', '/v1/models', { apiKey: app.apiKey })).body.data.map(
      (m: { id: string }) => m.id,
    );
    expect(listed).toContain('tiny-c');
    expect(listed).not.toContain('tiny-short');
    const ready = await app.request('GET', '/ready');
    expect(Object.keys(ready.body.checks)).toEqual(
      expect.arrayContaining(['engine:tiny-b', 'engine:tiny-c']),
    );
    expect(Object.keys(ready.body.checks)).not.toContain('engine:tiny-short');

    // The old tiny-b finishes its stream, whole, then closes. tiny-short waits for its admitted request.
    const until = async (what: () => boolean) => {
      for (const t0 = Date.now(); !what(); await new Promise((r) => setTimeout(r, 20)))
        if (Date.now() - t0 > 20_000) throw new Error('timed out');
    };
    const sse = await longStream;
    expect(sse).toContain('"completion_tokens":1500');
    expect(sse.trimEnd().endsWith('data: [DONE]')).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(replacedB.engineProvider!.ready).toBe(true); // the held slot still keeps it
    release(heldB);
    await until(() => replacedB.engineProvider!.ready === false);
    await new Promise((r) => setTimeout(r, 200));
    expect(retiring.engineProvider!.ready).toBe(true);
    release(held);
    await until(() => retiring.engineProvider!.ready === false);
    const metrics = parsePromText((await app.request('GET', '/metrics')).text);
    expect(sampleSum(metrics, 'llm_engine_up', { model_name: 'tiny-short', provider: 'native' })).toBe(0);
    expect(sampleSum(metrics, 'llm_engine_up', { model_name: 'tiny-b', provider: 'native' })).toBe(1);
    expect(sampleSum(metrics, 'llm_engine_up', { model_name: 'tiny-c', provider: 'native' })).toBe(1);
    const audit = await app.request('GET', '/admin/audit?action=models.reload', { token: admin });
    expect(audit.body.data[0].details.models).toEqual(res.body.changes);

    // The same file again: nothing to load or close.
    const servingC = registry.get('tiny-c');
    const again = await app.request('POST', '/admin/models/reload', { token: admin });
    expect(again.body.changes).toEqual({ added: [], replaced: [], removed: [] });
    expect(registry.get('tiny-c')).toBe(servingC);
  }, 60_000);

  it('an alias of a model that is not served is refused and the routes in force stay', async () => {
    const admin = app.token('admin');
    const current = JSON.parse(readFileSync(file, 'utf8')) as typeof spec;
    writeFileSync(
      file,
      JSON.stringify({ ...current, aliases: { ab: { targets: { nope: 1 }, assign: 'key' } } }),
    );
    const invalid = await app.request('POST', '/admin/models/reload', { token: admin });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.message).toMatch(/aliases\.ab\.targets: 'nope' is not a served model/);
    expect((await app.request('GET', '/admin/models', { token: admin })).body.aliases.ab.targets).toEqual({
      'tiny-b': 1,
    });
  }, 30_000);
});
