import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EngineEvent } from './engine.types';
import { loadAddon } from './native-addon';
import { NativeEngineProvider } from './native-engine.provider';

// Real engine, real tiny model: builds the addon (a no-op when up to date) and the fixture.
const root = join(__dirname, '..', '..', '..');
const modelPath = join(root, '.data', 'models', 'tiny-llama');

function run(args: string[]): void {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed with ${r.status}`);
}

async function collect(stream: AsyncIterable<EngineEvent>): Promise<EngineEvent[]> {
  const out: EngineEvent[] = [];
  for await (const e of stream) out.push(e);
  return out;
}

const tokensOf = (events: EngineEvent[]): number[] => events.flatMap((e) => e.newTokens);

describe('NativeEngineProvider', () => {
  let engine: NativeEngineProvider;

  beforeAll(() => {
    run([join(root, 'native', 'scripts', 'build.mjs')]);
    if (!existsSync(join(modelPath, 'config.json')))
      run([join(root, 'test', 'fixtures', 'make-tiny-model.mjs'), '--out', modelPath]);
    engine = new NativeEngineProvider({ modelPath, threads: 1, maxNumSeqs: 32 });
  }, 600_000);

  afterAll(async () => {
    await engine?.close();
  });

  it('reports the model and backend', () => {
    expect(engine.ready).toBe(true);
    const info = engine.info();
    expect(info.backend).toBe('cpu');
    expect(info.vocabSize).toBeGreaterThan(256);
    expect(info.path).toBe(modelPath);
  });

  it('streams tokens for concurrent requests while the event loop stays responsive', async () => {
    const prompt = (i: number): number[] => [1 + i, 20 + i, 40 + i, 60];
    const alone = tokensOf(
      await collect(
        engine.generate({
          promptTokens: prompt(3),
          sampling: { temperature: 0, maxTokens: 400, ignoreEos: true },
        }),
      ),
    );
    expect(alone).toHaveLength(400);

    let ticks = 0;
    const timer = setInterval(() => ticks++, 2);
    const eventsPerRequest: number[] = [];
    const ticksAtEvents: number[] = [];
    const results = await Promise.all(
      Array.from({ length: 16 }, async (_, i) => {
        const events: EngineEvent[] = [];
        for await (const e of engine.generate({
          id: `concurrent-${i}`,
          promptTokens: prompt(i),
          sampling: { temperature: 0, maxTokens: 400, ignoreEos: true },
        })) {
          events.push(e);
          ticksAtEvents.push(ticks);
        }
        eventsPerRequest.push(events.length);
        return events;
      }),
    );
    clearInterval(timer);

    for (const events of results) {
      const last = events[events.length - 1];
      expect(last.finished).toBe(true);
      expect(last.reason).toBe('length');
      expect(last.generatedTokens).toBe(400);
      expect(tokensOf(events)).toHaveLength(400);
    }
    // Streaming: tokens arrive over many callbacks, not in one lump at the end.
    expect(Math.min(...eventsPerRequest)).toBeGreaterThan(10);
    // Batch invariance through the binding: request 3 equals its run alone.
    expect(tokensOf(results[3])).toEqual(alone);
    // The event loop ran between the engine's callbacks (timers fired while it generated). How
    // often is timing: Node drains up to 1,000 queued callbacks per loop turn, so when the engine
    // outpaces JavaScript (a fast run on a busy 2-core machine) a 2 ms timer may fire only once or
    // twice in the run; asked for more, this check failed 2 of 5 CI runs.
    expect(ticks).toBeGreaterThan(0);
    expect(new Set(ticksAtEvents).size).toBeGreaterThan(1);
  }, 120_000);

  it('aborting via AbortSignal ends the stream and frees the KV blocks', async () => {
    const controller = new AbortController();
    const events: EngineEvent[] = [];
    const stream = engine.generate(
      {
        id: 'to-abort',
        promptTokens: [5, 6, 7],
        sampling: { temperature: 0, maxTokens: 100000, ignoreEos: true },
      },
      controller.signal,
    );
    for await (const e of stream) {
      events.push(e);
      if (events.length === 3) {
        expect(engine.stats().kvBlocksUsed).toBeGreaterThan(0);
        controller.abort();
      }
    }
    const last = events[events.length - 1];
    expect(last.finished).toBe(true);
    expect(last.reason).toBe('abort');
    expect(engine.stats().kvBlocksUsed).toBe(0);
    expect(engine.stats().running + engine.stats().waiting).toBe(0);
  }, 60_000);

  it('leaving the loop early aborts the request', async () => {
    for await (const e of engine.generate({
      id: 'early-exit',
      promptTokens: [9, 9, 9],
      sampling: { temperature: 0, maxTokens: 100000, ignoreEos: true },
    })) {
      if (e.newTokens.length > 0) break;
    }
    for (let i = 0; i < 100 && engine.stats().running > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(engine.stats().running).toBe(0);
    expect(engine.stats().kvBlocksUsed).toBe(0);
  }, 60_000);

  it('rejects bad arguments synchronously with clear errors', () => {
    expect(() => engine.generate({ promptTokens: [] })).toThrow(/prompt is empty/);
    // The addon's errors come from Node's own realm (not Jest's sandbox): compare names.
    const nameOf = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        return (e as Error).name;
      }
      return 'no error';
    };
    expect(() => engine.generate({ promptTokens: [1, 1e9] })).toThrow(/outside the vocabulary/);
    expect(nameOf(() => engine.generate({ promptTokens: [1, 1e9] }))).toBe('RangeError');
    expect(nameOf(() => engine.generate({ promptTokens: [1.5] }))).toBe('TypeError');
    expect(() => engine.generate({ promptTokens: [1], sampling: { maxTokens: -1 } })).toThrow(/maxTokens/);
    expect(() => engine.generate({ promptTokens: [1.5] })).toThrow(/must be an integer/);
    expect(() => engine.generate({ promptTokens: [1], sampling: { logprobs: 21 } })).toThrow(/logprobs/);
  });

  it('reads each argument once: null means not given, wrong types name the field', async () => {
    const nulls = {
      promptTokens: Int32Array.from([3, 4, 5]),
      priority: null,
      cacheSalt: null,
      sampling: { temperature: 0, topK: null, seed: null, stopTokenIds: null, logprobs: null, maxTokens: 3 },
    } as unknown as Parameters<NativeEngineProvider['generate']>[0];
    const given = { promptTokens: [3, 4, 5], sampling: { temperature: 0, maxTokens: 3 } };
    expect(tokensOf(await collect(engine.generate(nulls)))).toEqual(
      tokensOf(await collect(engine.generate(given))),
    );
    const bad = (sampling: unknown) => () =>
      engine.generate({ promptTokens: [1], sampling } as Parameters<NativeEngineProvider['generate']>[0]);
    expect(bad({ topP: 'x' })).toThrow(/sampling\.topP must be a number/);
    expect(bad({ ignoreEos: 1 })).toThrow(/sampling\.ignoreEos must be a boolean/);
    expect(bad({ stopTokenIds: [1, 'a'] })).toThrow(/sampling\.stopTokenIds\[1\] must be an integer/);
    expect(bad({ logitBias: 7 })).toThrow(/sampling\.logitBias must be an object/);
    expect(() =>
      engine.generate({ promptTokens: null } as unknown as Parameters<NativeEngineProvider['generate']>[0]),
    ).toThrow(/promptTokens is required/);
  });

  it('returns logprobs and the same tokens for the same seed', async () => {
    const req = {
      promptTokens: [3, 4, 5],
      sampling: { temperature: 0.9, seed: 11, maxTokens: 12, logprobs: 2 },
    };
    const a = await collect(engine.generate(req));
    const b = await collect(engine.generate(req));
    expect(tokensOf(a)).toEqual(tokensOf(b));
    const lps = a.flatMap((e) => e.logprobs ?? []);
    expect(lps).toHaveLength(12);
    expect(lps[0].top).toHaveLength(2);
    expect(lps[0].logprob).toBeLessThanOrEqual(0);
  });

  it('load() builds the engine off the JS thread: same tokens as a synchronous load; errors reject', async () => {
    const req = { promptTokens: [5, 6, 7], sampling: { temperature: 0, maxTokens: 6 } };
    const loaded = await NativeEngineProvider.load({ modelPath, threads: 1, maxNumSeqs: 4 });
    try {
      expect(loaded.ready).toBe(true);
      expect(loaded.info().path).toBe(modelPath);
      expect(tokensOf(await collect(loaded.generate(req)))).toEqual(
        tokensOf(await collect(engine.generate(req))),
      );
    } finally {
      await loaded.close();
    }
    await expect(NativeEngineProvider.load({ modelPath: join(root, 'no-such-model') })).rejects.toThrow(
      /no-such-model/,
    );

    // The addon's deferred engine: nothing works until load() resolves; load() runs once.
    const addon = loadAddon();
    const deferred = new addon.Engine({ modelPath, threads: 1 }, () => undefined, true);
    expect(() => deferred.info()).toThrow(/engine is loading/);
    expect(() => deferred.add({ id: 'x', promptTokens: [1], sampling: {} })).toThrow(/engine is loading/);
    const pending = deferred.load();
    expect(() => deferred.load()).toThrow(/only an engine constructed with deferLoad, once/);
    await pending;
    expect(deferred.info().path).toBe(modelPath);
    deferred.close();
    expect(() => deferred.add({ id: 'y', promptTokens: [1], sampling: {} })).toThrow(/engine is closed/);

    // Closed before the load finished: the engine is closed on arrival and load() rejects.
    const abandoned = new addon.Engine({ modelPath, threads: 1 }, () => undefined, true);
    const closing = abandoned.load();
    abandoned.close();
    await expect(closing).rejects.toThrow(/closed while loading/);
  });
});
