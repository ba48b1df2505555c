import { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiError, AppConfig, loadConfig } from '@app/common';
import { KeyVerifier, VerifyResult } from '@app/tenants';
import { AdminGuard, assertTenantAccess } from './admin/admin.guard';
import { AdminJwtStrategy } from './admin/admin-jwt.strategy';
import { mintAdminToken } from './admin/admin-token';
import { ApiKeyGuard, presentedKey } from './api-key/api-key.guard';

function contextFor(request: Record<string, unknown>, handler = () => undefined): ExecutionContext {
  return {
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => ({}) }),
    getHandler: () => handler,
    getClass: () => class {},
    getType: () => 'http',
    getArgs: () => [request, {}],
  } as unknown as ExecutionContext;
}

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error('expected a rejection');
}

describe('ApiKeyGuard', () => {
  // A verifier whose answers the test chooses (the real one is exercised end to end in test/e2e).
  const answers = new Map<string, VerifyResult>();
  const verifier = { verify: async (key: string) => answers.get(key) ?? { ok: false, reason: 'unknown' } };
  const guard = new ApiKeyGuard(verifier as unknown as KeyVerifier);

  it.each([
    [{ authorization: 'Bearer sk-x' }, 'sk-x'],
    [{ authorization: 'bearer   sk-y ' }, 'sk-y'],
    [{ authorization: 'sk-z' }, 'sk-z'],
    [{ 'x-api-key': 'sk-w' }, 'sk-w'],
    [{}, undefined],
  ])('reads the key from %p', (headers, expected) => {
    expect(presentedKey(headers)).toBe(expected);
  });

  it('attaches the verified key to the request', async () => {
    const key = { keyId: 'k', tenantId: 't', tenantName: 'n', prefix: 'p', scopes: [] };
    answers.set('sk-good', { ok: true, key });
    const request: Record<string, unknown> = { headers: { authorization: 'Bearer sk-good' } };
    await expect(guard.canActivate(contextFor(request))).resolves.toBe(true);
    expect(request.apiKey).toEqual(key);
  });

  it.each([
    [{}, /didn't provide an API key/],
    [{ authorization: 'Bearer sk-unknown' }, /Incorrect API key/],
  ])('401 invalid_api_key for %p', async (headers, message) => {
    const err = await rejection(guard.canActivate(contextFor({ headers })));
    expect(err.getStatus()).toBe(401);
    expect(err.body.error).toMatchObject({
      code: 'invalid_api_key',
      message: expect.stringMatching(message),
    });
  });

  it.each([
    ['revoked', /revoked/],
    ['expired', /expired/],
    ['tenant_suspended', /suspended/],
  ] as const)('401 for a %s key', async (reason, message) => {
    answers.set(`sk-${reason}`, { ok: false, reason });
    const err = await rejection(
      guard.canActivate(contextFor({ headers: { authorization: `Bearer sk-${reason}` } })),
    );
    expect(err.getStatus()).toBe(401);
    expect(err.body.error.message).toMatch(message);
  });
});

describe('AdminGuard with the real passport-jwt strategy', () => {
  const config: AppConfig = loadConfig({ ADMIN_JWT_SECRET: 'k'.repeat(40) });
  new AdminJwtStrategy(config); // registers the strategy with passport
  const guard = new AdminGuard(new Reflector());
  const tenant = '3f1c2a8e-1b2c-4d5e-8f90-a1b2c3d4e5f6';
  const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
  const onlyAdmins = () => undefined;
  Reflect.defineMetadata('llm:admin-roles', ['admin'], onlyAdmins);

  it('accepts a valid admin token and exposes the principal', async () => {
    const request: Record<string, unknown> = bearer(
      mintAdminToken({ secret: config.adminJwtSecret!, sub: 'alice', role: 'admin', ttlSeconds: 60 }),
    );
    await expect(guard.canActivate(contextFor(request))).resolves.toBe(true);
    expect(request.user).toEqual({ sub: 'alice', role: 'admin', tenantId: undefined });
  });

  it('401 without a token, with a token of another secret', async () => {
    expect((await rejection(guard.canActivate(contextFor({ headers: {} })))).getStatus()).toBe(401);
    const foreign = mintAdminToken({ secret: 'z'.repeat(40), sub: 'eve', role: 'admin', ttlSeconds: 60 });
    const err = await rejection(guard.canActivate(contextFor(bearer(foreign))));
    expect(err.getStatus()).toBe(401);
    expect(err.body.error.code).toBe('invalid_admin_token');
  });

  it('403 when the route needs a role the token lacks', async () => {
    const token = mintAdminToken({
      secret: config.adminJwtSecret!,
      sub: 'bob',
      role: 'tenant_admin',
      tenantId: tenant,
      ttlSeconds: 60,
    });
    const err = await rejection(guard.canActivate(contextFor(bearer(token), onlyAdmins)));
    expect(err.getStatus()).toBe(403);
  });

  it('assertTenantAccess: admins anywhere, tenant admins only at home', () => {
    expect(() => assertTenantAccess({ sub: 'a', role: 'admin' }, tenant)).not.toThrow();
    expect(() =>
      assertTenantAccess({ sub: 'b', role: 'tenant_admin', tenantId: tenant }, tenant.toUpperCase()),
    ).not.toThrow();
    try {
      assertTenantAccess(
        { sub: 'b', role: 'tenant_admin', tenantId: tenant },
        '00000000-0000-4000-8000-000000000000',
      );
      throw new Error('expected 403');
    } catch (err) {
      expect((err as ApiError).getStatus()).toBe(403);
    }
  });
});
