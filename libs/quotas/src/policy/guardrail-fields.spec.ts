import { AppConfig } from '@app/common';
import { applyOverrides, defaultPolicy, PolicyFields, resolvePolicy } from './effective-policy';
import { parsePolicyInput, policyFieldsView } from './policy-input';

const config = (raw: Record<string, string>) => ({ rateLimit: '100/minute', raw }) as unknown as AppConfig;

describe('guardrails in quota policies', () => {
  const base = defaultPolicy(config({}));
  const resolve = (tenant: PolicyFields, key: PolicyFields) =>
    resolvePolicy('t', 'k', applyOverrides(base, tenant), key).effective;

  it('defaults to off, or to the GUARDRAILS_* settings', () => {
    expect(base).toMatchObject({
      piiInput: 'off',
      piiOutput: 'off',
      promptInjection: 'off',
      blockedTerms: [],
    });
    expect(
      defaultPolicy(
        config({
          GUARDRAILS_PII_INPUT: 'redact',
          GUARDRAILS_PII_OUTPUT: 'redact',
          GUARDRAILS_PROMPT_INJECTION: 'block',
          GUARDRAILS_BLOCKED_TERMS: ' falcon , project x,,falcon',
        }),
      ),
    ).toMatchObject({
      piiInput: 'redact',
      piiOutput: 'redact',
      promptInjection: 'block',
      blockedTerms: ['falcon', 'project x'],
    });
  });

  it("a tenant sets its own; a key only tightens its tenant's and adds terms", () => {
    expect(resolve({ piiInput: 'redact' }, {}).piiInput).toBe('redact');
    expect(resolve({ piiInput: 'redact' }, { piiInput: 'block' }).piiInput).toBe('block');
    expect(resolve({ piiInput: 'block' }, { piiInput: 'off' }).piiInput).toBe('block');
    expect(resolve({ piiOutput: 'redact' }, { piiOutput: 'off' }).piiOutput).toBe('redact');
    expect(resolve({}, { promptInjection: 'block' }).promptInjection).toBe('block');
    expect(resolve({ blockedTerms: ['a', 'b'] }, { blockedTerms: ['b', 'c'] }).blockedTerms).toEqual([
      'a',
      'b',
      'c',
    ]);
  });

  it('parses the admin body and shows it back', () => {
    const fields = parsePolicyInput({
      pii_input: 'block',
      pii_output: 'redact',
      prompt_injection: 'off',
      blocked_terms: [' falcon ', 'falcon', 'Project X'],
    });
    expect(fields).toEqual({
      piiInput: 'block',
      piiOutput: 'redact',
      promptInjection: 'off',
      blockedTerms: ['falcon', 'Project X'],
    });
    expect(policyFieldsView(fields)).toMatchObject({
      pii_input: 'block',
      blocked_terms: ['falcon', 'Project X'],
    });
    expect(parsePolicyInput({ pii_input: null, blocked_terms: null })).toEqual({});
  });

  it.each([
    ['pii_input', 'mask'],
    ['pii_output', 'block'],
    ['prompt_injection', 'redact'],
    ['blocked_terms', 'falcon'],
    ['blocked_terms', ['  ']],
    ['blocked_terms', ['x'.repeat(201)]],
  ])('refuses %s = %j with a 400 naming it', (name, v) => {
    expect(() => parsePolicyInput({ [name]: v })).toThrow(
      expect.objectContaining({
        status: 400,
        body: expect.objectContaining({ error: expect.objectContaining({ param: name }) }),
      }),
    );
  });
});
