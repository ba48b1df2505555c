import { DataSource } from 'typeorm';
import { AppConfig, ManualClock } from '@app/common';
import { generateApiKey } from './key-format';
import { keyStateFailure, KeyVerifier } from './key-verifier';

/**
 * Stale-if-error: while the database is unreachable the verifier serves the last good lookup for
 * at most API_KEY_STALE_IF_ERROR_MS. The data source here is a stand-in whose query can be made
 * to fail like pg does when the server is gone (the e2e test cuts a real Postgres connection).
 */
// What the guard turns a failed lookup into: a retryable 503 in OpenAI's shape, not a 500.
const UNAVAILABLE = {
  status: 503,
  headers: { 'retry-after': '5' },
  body: { error: expect.objectContaining({ code: 'service_unavailable' }) },
};

describe('KeyVerifier when the database is unreachable', () => {
  const TTL = 2_000;
  const STALE = 60_000;
  const tenantId = '00000000-0000-4000-8000-000000000001';

  function setup(staleMs = STALE) {
    const clock = new ManualClock();
    const key = generateApiKey();
    const state = { down: false, revokedAt: null as Date | null, queries: 0 };
    const dataSource = {
      query: async (sql: string) => {
        if (/^\s*UPDATE/.test(sql)) return [];
        state.queries += 1;
        if (state.down)
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
        return [
          {
            key_id: 'key-1',
            tenant_id: tenantId,
            tenant_name: 't',
            tenant_status: 'active',
            secret_hash: key.secretHash,
            scopes: [],
            expires_at: null,
            revoked_at: state.revokedAt,
          },
        ];
      },
    } as unknown as DataSource;
    const config = { apiKeyCacheTtlMs: TTL, apiKeyStaleIfErrorMs: staleMs } as AppConfig;
    return { verifier: new KeyVerifier(dataSource, config, clock), clock, key, state };
  }

  it('serves the last good entry within the bound, then fails', async () => {
    const { verifier, clock, key, state } = setup();
    expect(await verifier.verify(key.key)).toMatchObject({ ok: true, key: { keyId: 'key-1', tenantId } });
    state.down = true;
    clock.advance(TTL + 1); // cache entry expired: the lookup is tried and fails
    expect(await verifier.verify(key.key)).toMatchObject({ ok: true, key: { keyId: 'key-1' } });
    clock.advance(STALE - TTL - 2); // still within the bound (counted from the last good lookup)
    expect(await verifier.verify(key.key)).toMatchObject({ ok: true });
    expect(state.queries).toBe(3); // every expired check retries the database
    clock.advance(2); // past the bound
    await expect(verifier.verify(key.key)).rejects.toMatchObject(UNAVAILABLE);
    // The database is back: a fresh lookup, and the bound restarts from it.
    state.down = false;
    expect(await verifier.verify(key.key)).toMatchObject({ ok: true });
  });

  it('a revocation seen before the outage is still honoured during it', async () => {
    const { verifier, clock, key, state } = setup();
    expect(await verifier.verify(key.key)).toMatchObject({ ok: true });
    state.revokedAt = new Date(clock.now());
    clock.advance(TTL + 1);
    expect(await verifier.verify(key.key)).toEqual({ ok: false, reason: 'revoked' });
    state.down = true;
    clock.advance(TTL + 1);
    expect(await verifier.verify(key.key)).toEqual({ ok: false, reason: 'revoked' });
  });

  it('a key never seen before fails while the database is down; 0 disables stale serving', async () => {
    const { verifier, key, state } = setup();
    state.down = true;
    await expect(verifier.verify(key.key)).rejects.toMatchObject(UNAVAILABLE);

    const strict = setup(0);
    expect(await strict.verifier.verify(strict.key.key)).toMatchObject({ ok: true });
    strict.state.down = true;
    strict.clock.advance(TTL + 1);
    await expect(strict.verifier.verify(strict.key.key)).rejects.toMatchObject(UNAVAILABLE);
  });
});

describe('keyStateFailure', () => {
  const ok = { revokedAt: null, expiresAt: null, tenantStatus: 'active' };
  it('refuses revoked, expired and suspended keys at the moment given; a revocation ahead is a grace period', () => {
    expect(keyStateFailure(ok, 1000)).toBeNull();
    expect(keyStateFailure({ ...ok, revokedAt: 1000 }, 1000)).toBe('revoked');
    expect(keyStateFailure({ ...ok, revokedAt: 5000 }, 1000)).toBeNull(); // rotated, still in its grace
    expect(keyStateFailure({ ...ok, expiresAt: 999 }, 1000)).toBe('expired');
    expect(keyStateFailure({ ...ok, tenantStatus: 'suspended' }, 1000)).toBe('tenant_suspended');
  });
});
