import { Lane } from '@app/common';
import { Admission, LaneScheduler, LaneSchedulerOptions } from './lane-scheduler';
import { LaneRejection, QueueAbortedError } from './lane-rejection';

const opts = (over: Partial<LaneSchedulerOptions> = {}): LaneSchedulerOptions => ({
  capacity: 1,
  maxQueueDepth: 100,
  maxWaitMs: { interactive: 60_000, standard: 60_000, batch: 60_000 },
  agingMs: 60_000,
  ...over,
});

const flush = () => new Promise((r) => setImmediate(r));

function track(s: LaneScheduler, tenantId: string, lane: Lane, cost: number, order: string[], tag: string) {
  return s.acquire({ tenantId, lane, cost }).then((a) => {
    order.push(tag);
    return a;
  });
}

describe('LaneScheduler', () => {
  it('admits immediately while below capacity and never beyond it', async () => {
    const s = new LaneScheduler(opts({ capacity: 2 }));
    const a = await s.acquire({ tenantId: 't', lane: 'standard', cost: 10 });
    const b = await s.acquire({ tenantId: 't', lane: 'standard', cost: 10 });
    let third: Admission | undefined;
    void s.acquire({ tenantId: 't', lane: 'standard', cost: 10 }).then((x) => (third = x));
    await flush();
    expect(third).toBeUndefined();
    expect(s.stats().inFlight).toBe(2);
    a.release();
    a.release(); // idempotent
    await flush();
    expect(third).toBeDefined();
    expect(s.stats().inFlight).toBe(2);
    b.release();
    third?.release();
    expect(s.stats().inFlight).toBe(0);
  });

  it('serves interactive before earlier batch and standard requests, and passes the lane priority', async () => {
    const s = new LaneScheduler(opts());
    const hold = await s.acquire({ tenantId: 'x', lane: 'batch', cost: 1 });
    const order: string[] = [];
    const p = [
      track(s, 'a', 'batch', 1, order, 'batch'),
      track(s, 'a', 'standard', 1, order, 'standard'),
      track(s, 'a', 'interactive', 1, order, 'interactive'),
    ];
    for (const x of p) void x.then((a) => setImmediate(() => a.release()));
    hold.release();
    await Promise.all(p);
    expect(order).toEqual(['interactive', 'standard', 'batch']);
    expect((await p[2]).priority).toBeLessThan((await p[0]).priority);
  });

  it('with an engine that preempts lower lanes, batch work never holds back the lanes above it', async () => {
    const s = new LaneScheduler(opts({ capacity: 2, preemptsLowerLanes: true }));
    const batch = [
      await s.acquire({ tenantId: 't', lane: 'batch', cost: 1 }),
      await s.acquire({ tenantId: 't', lane: 'batch', cost: 1 }),
    ];
    // Full of batch work: another batch request waits, a standard one enters at once (the
    // engine evicts a batch sequence for it), and so does an interactive one.
    let thirdBatch: Admission | undefined;
    void s.acquire({ tenantId: 't', lane: 'batch', cost: 1 }).then((a) => (thirdBatch = a));
    const standard = await s.acquire({ tenantId: 't', lane: 'standard', cost: 1 });
    const interactive = await s.acquire({ tenantId: 'u', lane: 'interactive', cost: 1 });
    expect(standard.priority).toBe(1);
    expect(s.stats().inFlight).toBe(4);
    // Each lane with those above it stays within capacity: a second standard request waits.
    let secondStandard: Admission | undefined;
    void s.acquire({ tenantId: 't', lane: 'standard', cost: 1 }).then((a) => (secondStandard = a));
    await flush();
    expect(secondStandard).toBeUndefined();
    // A batch slot freeing does not let batch in while the total is past capacity; standard's
    // own slot freeing lets the waiting standard request in first.
    batch[0].release();
    await flush();
    expect(thirdBatch).toBeUndefined();
    standard.release();
    await flush();
    expect(secondStandard).toBeDefined();
    expect(thirdBatch).toBeUndefined();
    for (const a of [batch[1], interactive, secondStandard!]) a.release();
    await flush();
    expect(thirdBatch).toBeDefined();
    thirdBatch!.release();
    expect(s.stats().inFlight).toBe(0);
  });

  it('without it (remote engines), capacity bounds every lane together', async () => {
    const s = new LaneScheduler(opts({ capacity: 1 }));
    const batch = await s.acquire({ tenantId: 't', lane: 'batch', cost: 1 });
    let standard: Admission | undefined;
    void s.acquire({ tenantId: 't', lane: 'standard', cost: 1 }).then((a) => (standard = a));
    await flush();
    expect(standard).toBeUndefined();
    batch.release();
    await flush();
    expect(standard).toBeDefined();
    standard!.release();
  });

  it('ages a long-waiting batch request ahead of newer interactive ones', async () => {
    let now = 0;
    const s = new LaneScheduler(opts({ agingMs: 1000, now: () => now }));
    const hold = await s.acquire({ tenantId: 'x', lane: 'standard', cost: 1 });
    const order: string[] = [];
    const b = track(s, 'a', 'batch', 1, order, 'batch');
    now = 3500; // three aging periods: batch now ranks above interactive
    const i = track(s, 'a', 'interactive', 1, order, 'interactive');
    hold.release();
    (await b).release();
    (await i).release();
    expect(order).toEqual(['batch', 'interactive']);
  });

  it('shares a lane fairly by tokens between a flooding and a quiet tenant', async () => {
    const s = new LaneScheduler(opts({ capacity: 1 }));
    const hold = await s.acquire({ tenantId: 'x', lane: 'standard', cost: 1 });
    const served: Record<string, number> = { flood: 0, quiet: 0 };
    const all: Promise<void>[] = [];
    const submit = (tenant: string) =>
      all.push(
        s.acquire({ tenantId: tenant, lane: 'standard', cost: 10 }).then((a) => {
          served[tenant] += 10;
          setImmediate(() => a.release(10));
        }),
      );
    for (let i = 0; i < 50; i++) submit('flood');
    for (let i = 0; i < 5; i++) submit('quiet');
    hold.release();
    // After the first 10 admissions both tenants got the same tokens.
    while (served.flood + served.quiet < 100) await flush();
    expect(served.quiet).toBe(50);
    expect(served.flood).toBe(50);
    await Promise.all(all);
  });

  it('charges the actual cost on release (a tenant that used more waits longer)', async () => {
    const s = new LaneScheduler(opts());
    const first = await s.acquire({ tenantId: 'big', lane: 'standard', cost: 10 });
    const order: string[] = [];
    const p1 = track(s, 'big', 'standard', 10, order, 'big');
    const p2 = track(s, 'small', 'standard', 10, order, 'small');
    first.release(1000);
    (await p2).release();
    (await p1).release();
    expect(order).toEqual(['small', 'big']);
  });

  it('sheds with 429 for the tenant over its share and 503 when overloaded, with Retry-After', async () => {
    const s = new LaneScheduler(opts({ maxQueueDepth: 4 }));
    const hold = await s.acquire({ tenantId: 'x', lane: 'standard', cost: 1 });
    const flood = Array.from({ length: 4 }, () =>
      s.acquire({ tenantId: 'flood', lane: 'standard', cost: 1 }),
    );
    flood.forEach((p) => p.catch(() => undefined));
    // The only tenant in a full lane: overloaded.
    const err1 = await s.acquire({ tenantId: 'flood', lane: 'standard', cost: 1 }).catch((e: unknown) => e);
    expect(err1).toBeInstanceOf(LaneRejection);
    expect((err1 as LaneRejection).status).toBe(503);
    expect((err1 as LaneRejection).retryAfterS).toBeGreaterThanOrEqual(1);
    // A quiet tenant gets in: the flooder's newest request is shed with 429.
    const quiet = s.acquire({ tenantId: 'quiet', lane: 'standard', cost: 1 });
    const shed = await flood[3].catch((e: unknown) => e);
    expect(shed).toBeInstanceOf(LaneRejection);
    expect((shed as LaneRejection).status).toBe(429);
    // The flooder again, now over its share with two tenants present: 429.
    const err2 = await s.acquire({ tenantId: 'flood', lane: 'standard', cost: 1 }).catch((e: unknown) => e);
    expect((err2 as LaneRejection).status).toBe(429);
    expect(s.stats().queued.standard).toBe(4);
    for (const p of [quiet, ...flood.slice(0, 3)]) void p.then((a) => setImmediate(() => a.release()));
    hold.release();
    await Promise.all([quiet, ...flood.slice(0, 3)]);
    await flush();
    expect(s.stats()).toMatchObject({ inFlight: 0, queued: { standard: 0 } });
  });

  it('sheds requests that wait past the lane limit and drops aborted ones from the queue', async () => {
    const s = new LaneScheduler(opts({ maxWaitMs: { interactive: 50, standard: 50, batch: 50 } }));
    const hold = await s.acquire({ tenantId: 'x', lane: 'standard', cost: 1 });
    const err = await s.acquire({ tenantId: 'a', lane: 'batch', cost: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LaneRejection);
    expect((err as LaneRejection).status).toBe(503);
    const ac = new AbortController();
    const p = s.acquire({ tenantId: 'a', lane: 'batch', cost: 1, signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(QueueAbortedError);
    expect(s.stats().queued.batch).toBe(0);
    hold.release();
    expect(s.stats().inFlight).toBe(0);
  });

  it("a request's own maxWaitMs shortens its wait, never lengthens it", async () => {
    const s = new LaneScheduler(opts({ maxWaitMs: { interactive: 60_000, standard: 60_000, batch: 40 } }));
    const hold = await s.acquire({ tenantId: 'x', lane: 'standard', cost: 1 });
    const started = Date.now();
    const short = await s
      .acquire({ tenantId: 'a', lane: 'standard', cost: 1, maxWaitMs: 30 })
      .catch((e: unknown) => e);
    expect(short).toMatchObject({ status: 503, reason: 'queue_timeout' });
    expect(Date.now() - started).toBeLessThan(30_000); // not the lane's 60 s
    // The lane's own limit (batch: 40 ms) still applies to a longer maxWaitMs.
    const capped = await s
      .acquire({ tenantId: 'a', lane: 'batch', cost: 1, maxWaitMs: 60_000 })
      .catch((e: unknown) => e);
    expect(capped).toMatchObject({ status: 503, reason: 'queue_timeout' });
    hold.release();
  });
});
