import { AppConfig } from '@app/common';
import { defaultPolicy, resolvePolicy } from './effective-policy';
import { parsePolicyInput, policyFieldsView } from './policy-input';

const config = { rateLimit: '100/minute', raw: {} } as unknown as AppConfig;

describe('allowed_models in quota policies', () => {
  const base = defaultPolicy(config);
  const resolve = (tenant: string[] | null, key: string[] | null | undefined) =>
    resolvePolicy('t', 'k', { ...base, allowedModels: tenant }, { allowedModels: key }).effective
      .allowedModels;

  it('defaults to every model (null)', () => {
    expect(base.allowedModels).toBeNull();
    expect(resolve(null, undefined)).toBeNull();
  });

  it("a key narrows its tenant's list and never widens it", () => {
    expect(resolve(['a', 'b'], undefined)).toEqual(['a', 'b']);
    expect(resolve(null, ['b'])).toEqual(['b']);
    expect(resolve(['a', 'b'], ['b', 'c'])).toEqual(['b']);
    expect(resolve(['a'], ['c'])).toEqual([]);
  });

  it('parses the admin body (deduplicated; null inherits) and shows it back', () => {
    const fields = parsePolicyInput({ allowed_models: ['small', 'chat', 'small'] });
    expect(fields.allowedModels).toEqual(['small', 'chat']);
    expect(policyFieldsView(fields).allowed_models).toEqual(['small', 'chat']);
    expect(parsePolicyInput({ allowed_models: null }).allowedModels).toBeUndefined();
  });

  it.each([[[]], ['small'], [['bad name']], [[1]], [['']]])(
    'refuses allowed_models %j with a 400 naming it',
    (v) => {
      expect(() => parsePolicyInput({ allowed_models: v })).toThrow(
        expect.objectContaining({
          status: 400,
          body: expect.objectContaining({ error: expect.objectContaining({ param: 'allowed_models' }) }),
        }),
      );
    },
  );
});
