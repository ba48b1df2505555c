import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { CounterSpec, CounterStore } from './counter-store';
import { MemoryCounterStore } from './memory-counter-store';
import { RedisCounterStore } from './redis-counter-store';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The same contract for both stores; Redis is the real server (as in CI). */
describe.each(['memory', 'redis'] as const)('%s counter store', (kind) => {
  let store: CounterStore;
  let redis: Redis | undefined;
  const ns = `test:${randomUUID()}:`;
  const c = (key: string, limit: number | null, amount: number, seeded = false): CounterSpec => ({
    key: ns + key,
    limit,
    amount,
    ttlMs: 60_000,
    seeded,
  });

  beforeAll(() => {
    if (kind === 'redis') {
      redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      store = new RedisCounterStore(redis);
    } else {
      store = new MemoryCounterStore();
    }
  });
  afterAll(async () => {
    if (redis) {
      const keys = await redis.keys(`${ns}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    }
  });

  it('reserves all counters or none', async () => {
    const ok = await store.reserve([c('a', 100, 60), c('b', 1000, 60)], [], Date.now());
    expect(ok).toEqual({ ok: true, values: [60, 60] });
    const refused = await store.reserve([c('b', 1000, 60), c('a', 100, 60)], [], Date.now());
    expect(refused).toEqual({ ok: false, index: 1, current: 60 });
    expect(await store.get(ns + 'b')).toBe(60); // b untouched by the refused reservation
  });

  it('never grants more than the limit under concurrency', async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, () => store.reserve([c('conc', 1000, 7)], [], Date.now())),
    );
    const granted = results.filter((r) => r.ok).length;
    expect(granted).toBe(Math.floor(1000 / 7));
    expect(await store.get(ns + 'conc')).toBe(granted * 7);
  });

  it('asks for a seed, and seeding sets once (never adds)', async () => {
    expect(await store.reserve([c('day', 1000, 10, true)], [], Date.now())).toEqual({
      ok: false,
      needsSeed: 0,
    });
    await store.seed(ns + 'day', 900, 60_000);
    await store.seed(ns + 'day', 900, 60_000);
    expect(await store.get(ns + 'day')).toBe(900);
    expect(await store.reserve([c('day', 1000, 100, true)], [], Date.now())).toEqual({
      ok: true,
      values: [1000],
    });
    expect(await store.reserve([c('day', 1000, 1, true)], [], Date.now())).toMatchObject({
      ok: false,
      index: 0,
    });
  });

  it('settles deltas and frees slots; slots of dead holders expire', async () => {
    const now = Date.now();
    const slot = (member: string, leaseMs = 60_000) => ({ key: ns + 'slots', limit: 2, member, leaseMs });
    expect((await store.reserve([], [slot('r1')], now)).ok).toBe(true);
    expect((await store.reserve([], [slot('r2', 50)], now)).ok).toBe(true);
    expect(await store.reserve([], [slot('r3')], now)).toEqual({ ok: false, index: 0, current: 2 });
    await store.settle([], [{ key: ns + 'slots', member: 'r1' }]);
    expect((await store.reserve([], [slot('r3')], now)).ok).toBe(true);
    // r2's lease ended: its slot is reclaimed.
    expect((await store.reserve([], [slot('r4')], now + 100)).ok).toBe(true);

    await store.reserve([c('tpm', 1000, 500)], [], now);
    await store.settle(
      [
        { key: ns + 'tpm', delta: -300 },
        { key: ns + 'missing', delta: -5 },
      ],
      [],
    );
    expect(await store.get(ns + 'tpm')).toBe(200);
    expect(await store.get(ns + 'missing')).toBeNull();
  });

  it('counts hits in a fixed window', async () => {
    expect((await store.hit(ns + 'rpm', 60_000)).count).toBe(1);
    const second = await store.hit(ns + 'rpm', 60_000);
    expect(second.count).toBe(2);
    expect(second.ttlMs).toBeGreaterThan(50_000);
  });
});
