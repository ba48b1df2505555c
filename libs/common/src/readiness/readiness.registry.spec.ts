import { ReadinessRegistry } from './readiness.registry';

describe('ReadinessRegistry', () => {
  it('shows expected components as not configured until they register', async () => {
    const r = new ReadinessRegistry();
    expect(await r.check()).toEqual({
      ready: true,
      checks: {
        database: { ok: true, status: 'not configured' },
        engine: { ok: true, status: 'not configured' },
      },
    });
  });

  it('is not ready when a contributor fails, throws or hangs', async () => {
    const r = new ReadinessRegistry();
    r.register({ name: 'database', check: async () => ({ ok: true, status: 'up' }) });
    r.register({ name: 'engine', check: async () => Promise.reject(new Error('no model')) });
    const result = await r.check();
    expect(result.ready).toBe(false);
    expect(result.checks.engine).toEqual({ ok: false, status: 'error', detail: 'no model' });
    r.register({ name: 'engine', check: () => new Promise(() => undefined) });
    const hung = await r.check();
    expect(hung.checks.engine.status).toBe('timeout');
    r.unregister('engine');
    expect((await r.check()).ready).toBe(true);
  });
});
