import jwt from 'jsonwebtoken';
import { claimsProblem, mintAdminToken, parseTtl } from './admin-token';

const secret = 's'.repeat(40);
const tenant = '3f1c2a8e-1b2c-4d5e-8f90-a1b2c3d4e5f6';

describe('admin tokens', () => {
  it.each([
    ['3600', 3600],
    ['90s', 90],
    ['15m', 900],
    ['1h', 3600],
    ['7d', 604800],
  ])('parses ttl %s', (text, seconds) => expect(parseTtl(text)).toBe(seconds));

  it.each(['', 'abc', '1w', '-5m', '0', '400d'])('rejects ttl %p', (text) =>
    expect(() => parseTtl(text)).toThrow(/ttl/),
  );

  it('mints an HS256 token with role, subject, issuer and expiry', () => {
    const token = mintAdminToken({ secret, sub: 'alice', role: 'admin', ttlSeconds: 3600 });
    const claims = jwt.verify(token, secret, {
      algorithms: ['HS256'],
      issuer: 'llm-inference',
    }) as jwt.JwtPayload;
    expect(claims).toMatchObject({ sub: 'alice', role: 'admin' });
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(claimsProblem(claims)).toBeNull();
  });

  it('tenant_admin tokens carry the tenant id', () => {
    const token = mintAdminToken({
      secret,
      sub: 'bob',
      role: 'tenant_admin',
      tenantId: tenant,
      ttlSeconds: 60,
    });
    expect(jwt.decode(token)).toMatchObject({ role: 'tenant_admin', tenant_id: tenant });
  });

  it.each([
    [{ sub: '', role: 'admin' }, /sub/],
    [{ sub: 'x', role: 'root' }, /invalid role/],
    [{ sub: 'x', role: 'tenant_admin' }, /needs --tenant/],
    [{ sub: 'x', role: 'tenant_admin', tenantId: 'nope' }, /needs --tenant/],
    [{ sub: 'x', role: 'admin', tenantId: tenant }, /takes no --tenant/],
  ])('refuses to mint %p', (opts, error) => {
    expect(() => mintAdminToken({ secret, ttlSeconds: 60, ...opts })).toThrow(error);
  });

  it.each([
    [{ role: 'admin', exp: 1 }, /subject/],
    [{ sub: 'x', role: 'user', exp: 1 }, /role/],
    [{ sub: 'x', role: 'tenant_admin', exp: 1 }, /tenant_id/],
    [{ sub: 'x', role: 'admin' }, /expiry/],
  ])('claimsProblem flags %p', (claims, problem) => {
    expect(claimsProblem(claims as never)).toMatch(problem);
  });
});
