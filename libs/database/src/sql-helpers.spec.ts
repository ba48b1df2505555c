import { deleteInChunks, schedulePrune, updateReturning } from './sql-helpers';

describe('schedulePrune', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('runs a minute after start, then every period; a failure is a warning; stop ends it', async () => {
    let runs = 0;
    const warn = jest.fn();
    const stop = schedulePrune(
      async () => {
        runs++;
        if (runs === 2) throw new Error('db down');
      },
      3_600_000,
      { warn },
      'thing retention',
    );
    await jest.advanceTimersByTimeAsync(59_999);
    expect(runs).toBe(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(runs).toBe(1);
    await jest.advanceTimersByTimeAsync(3_600_000 - 60_000);
    expect(runs).toBe(2);
    expect(warn).toHaveBeenCalledWith('thing retention failed: db down');
    stop();
    await jest.advanceTimersByTimeAsync(10 * 3_600_000);
    expect(runs).toBe(2);
  });
});

describe('deleteInChunks / updateReturning', () => {
  it('deletes chunk by chunk until one comes back short, and sums them', async () => {
    const counts = [3, 3, 1];
    const sqls: string[] = [];
    const m = {
      query: async (sql: string) => {
        sqls.push(sql);
        return [{ n: counts.shift() }];
      },
    };
    const n = await deleteInChunks(m as never, { table: 'files', key: 'id', where: 't.x < 1', chunk: 3 });
    expect(n).toBe(7);
    expect(sqls).toHaveLength(3);
    expect(sqls[0]).toContain('SELECT t.id FROM files t WHERE t.x < 1 LIMIT 3');
  });

  it('reads the rows of TypeORM answers in either shape', async () => {
    const rows = [{ id: 'a' }];
    expect(await updateReturning({ query: async () => [rows, 1] } as never, 'x', [])).toEqual(rows);
    expect(await updateReturning({ query: async () => rows } as never, 'x', [])).toEqual(rows);
  });
});
