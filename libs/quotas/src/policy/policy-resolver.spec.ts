import { AppConfig } from '@app/common';
import { POLICY_CACHE_TTL_MS, PolicyResolver } from './policy-resolver';
import { QuotaPolicyRepository } from './quota-policy.repository';

/**
 * Stale-if-error for quota policies: while Postgres is unreachable the last resolved policy is
 * served for at most API_KEY_STALE_IF_ERROR_MS (like the key itself), then a retryable 503. The
 * repository is a stand-in whose load() can fail like pg does when the server is gone.
 */
const UNAVAILABLE = {
  status: 503,
  headers: { 'retry-after': '5' },
  body: { error: expect.objectContaining({ code: 'service_unavailable' }) },
};

describe('PolicyResolver when the database is unreachable', () => {
  const STALE = 60_000;
  const tenantId = '00000000-0000-4000-8000-000000000001';

  beforeEach(() => jest.useFakeTimers({ now: 1_800_000_000_000, doNotFake: ['nextTick', 'queueMicrotask'] }));
  afterEach(() => jest.useRealTimers());

  function setup(staleMs = STALE) {
    const state = { down: false, loads: 0, rpm: 30 };
    const repository = {
      load: async () => {
        state.loads += 1;
        if (state.down)
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
        return { tenant: { requestsPerMinute: state.rpm }, key: {} };
      },
    } as unknown as QuotaPolicyRepository;
    const config = {
      rateLimit: '100/minute',
      apiKeyStaleIfErrorMs: staleMs,
      raw: {},
    } as unknown as AppConfig;
    return { resolver: new PolicyResolver(repository, config), state };
  }

  it('serves the last resolved policy within the bound, then answers 503', async () => {
    const { resolver, state } = setup();
    expect((await resolver.resolve(tenantId, 'key-1')).effective.requestsPerMinute).toBe(30);
    state.down = true;
    jest.advanceTimersByTime(POLICY_CACHE_TTL_MS + 1); // expired: the lookup is tried and fails
    expect((await resolver.resolve(tenantId, 'key-1')).effective.requestsPerMinute).toBe(30);
    jest.advanceTimersByTime(STALE - POLICY_CACHE_TTL_MS - 2); // still within the bound
    expect((await resolver.resolve(tenantId, 'key-1')).effective.requestsPerMinute).toBe(30);
    expect(state.loads).toBe(3); // every expired lookup retries the database
    jest.advanceTimersByTime(2); // past the bound
    await expect(resolver.resolve(tenantId, 'key-1')).rejects.toMatchObject(UNAVAILABLE);
    // The database is back: a fresh lookup sees the current row.
    state.down = false;
    state.rpm = 40;
    expect((await resolver.resolve(tenantId, 'key-1')).effective.requestsPerMinute).toBe(40);
  });

  it('a policy never resolved before is a 503 while the database is down; 0 disables stale serving', async () => {
    const cold = setup();
    cold.state.down = true;
    await expect(cold.resolver.resolve(tenantId, 'key-1')).rejects.toMatchObject(UNAVAILABLE);

    const never = setup(0);
    await never.resolver.resolve(tenantId, 'key-1');
    never.state.down = true;
    jest.advanceTimersByTime(POLICY_CACHE_TTL_MS + 1);
    await expect(never.resolver.resolve(tenantId, 'key-1')).rejects.toMatchObject(UNAVAILABLE);
  });
});
