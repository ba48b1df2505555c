import { BatchSettings } from '../batch-settings';
import { BatchLineRunner, LineAttempt } from './batch-line-runner';
import { BatchRow } from './batch-object';
import { LineOutcome } from './batch-output';
import { BatchRunner } from './batch-runner';
import { BatchStore } from './batch-store';

const settings: BatchSettings = {
  filesMaxBytes: 1 << 20,
  filesRetentionDays: 0,
  maxRequests: 1000,
  maxOpenPerTenant: 100,
  maxActive: 1,
  concurrency: 3,
  pollMs: 10_000,
  leaseMs: 60_000,
  shutdownTimeoutMs: 1000,
};

function input(n: number): Buffer {
  const rows = Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      custom_id: `c${i}`,
      method: 'POST',
      url: '/v1/completions',
      body: { prompt: String(i) },
    }),
  );
  return Buffer.from(rows.join('\n'));
}

/** An in-memory BatchStore: the runner's logic without Postgres (the e2e tests run it on Postgres). */
class MemoryStore {
  results = new Map<number, LineOutcome>();
  failWrites = 0;
  writes = 0;
  ended: string | null = null;
  status: BatchRow['status'] = 'validating';
  constructor(private readonly content: Buffer) {}
  claim = async () =>
    this.ended ? [] : [{ id: 'batch_t', endpoint: '/v1/completions', status: this.status } as BatchRow];
  renew = async () => ({ status: this.status, expired: false });
  release = async () => undefined;
  input = async () => this.content;
  startRunning = async () => {
    if (this.status === 'validating') this.status = 'in_progress';
  };
  fail = async () => {
    this.ended = 'failed';
  };
  doneLines = async () => new Set(this.results.keys());
  saveResults = async (_id: string, group: { index: number; outcome: LineOutcome }[]) => {
    this.writes++;
    if (this.failWrites > 0) {
      this.failWrites--;
      throw new Error('database away');
    }
    for (const r of group) if (!this.results.has(r.index)) this.results.set(r.index, r.outcome);
  };
  keyRefusal = async () => null;
  finalize = async (_row: BatchRow, _owner: string, status: string) => {
    this.ended = status;
  };
}

function runner(
  store: MemoryStore,
  attempt: (index: number) => Promise<LineAttempt>,
  overrides: Partial<BatchSettings> = {},
) {
  const lines = { attempt: (_ctx: unknown, line: { index: number }) => attempt(line.index) };
  return new BatchRunner(store as unknown as BatchStore, lines as unknown as BatchLineRunner, {
    ...settings,
    ...overrides,
  });
}

const ok = (i: number): LineAttempt => ({
  outcome: { statusCode: 200, requestId: `r${i}`, body: { i }, error: null },
});
const until = async (cond: () => boolean) => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
};

describe('BatchRunner', () => {
  it('runs every line at most BATCH_CONCURRENCY at a time and completes the batch', async () => {
    const store = new MemoryStore(input(10));
    let inFlight = 0;
    let most = 0;
    const r = runner(store, async (i) => {
      most = Math.max(most, ++inFlight);
      await new Promise((res) => setTimeout(res, 2));
      inFlight--;
      return ok(i);
    });
    await r.poll();
    await until(() => store.ended !== null);
    expect(store.ended).toBe('completed');
    expect([...store.results.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(most).toBe(3);
  });

  it('a failed write keeps its answers for the next one: no line is lost or run twice', async () => {
    const store = new MemoryStore(input(70)); // three groups of 32
    store.failWrites = 1;
    const runs = new Map<number, number>();
    const r = runner(store, async (i) => {
      runs.set(i, (runs.get(i) ?? 0) + 1);
      await new Promise((res) => setImmediate(res));
      return ok(i);
    });
    await r.poll();
    await until(() => store.ended !== null);
    expect(store.ended).toBe('completed');
    expect(store.results.size).toBe(70);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(store.writes).toBeGreaterThan(2);
  });

  it('lines refused for now run again; cancellation writes the lines not run as batch_cancelled', async () => {
    const store = new MemoryStore(input(12));
    let refusals = 2;
    const r = runner(
      store,
      async (i) => {
        if (refusals-- > 0) return { retryInMs: 1 };
        if (i === 3) store.status = 'cancelling'; // the heartbeat (every 5 ms here) reads it
        await new Promise((res) => setTimeout(res, 20));
        return ok(i);
      },
      { pollMs: 5, concurrency: 2 },
    );
    await r.poll();
    await until(() => store.ended !== null);
    expect(store.ended).toBe('cancelled');
    expect(store.results.size).toBe(12);
    const answered = [...store.results.values()].filter((o) => o.statusCode === 200);
    const cancelled = [...store.results.values()].filter((o) => o.error?.code === 'batch_cancelled');
    expect(answered.length).toBeGreaterThanOrEqual(4); // lines 0-3 ran (0 and 1 after waiting)
    expect(cancelled.length).toBe(12 - answered.length);
    expect(cancelled.every((o) => o.statusCode === null)).toBe(true);
    await r.onModuleDestroy();
  });

  it('a malformed input file fails the batch without running anything', async () => {
    const store = new MemoryStore(Buffer.from('{not json\n'));
    const attempt = jest.fn();
    await runner(store, attempt).poll();
    await until(() => store.ended !== null);
    expect(store.ended).toBe('failed');
    expect(attempt).not.toHaveBeenCalled();
  });
});
