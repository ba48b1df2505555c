import { parseArgs, UsageError } from '../args';
import { policyChanges } from './quota';

describe('quota set flags', () => {
  it('maps flags to policy fields: numbers, lists, text, and "inherit" as null', () => {
    const args = parseArgs([
      'quota',
      'set',
      '--tenant',
      't',
      '--requests-per-minute',
      '100',
      '--allowed-models',
      'small, chat',
      '--default-lane',
      'batch',
      '--max-tokens-cap',
      'inherit',
      '--pii-input',
      'redact',
      '--blocked-terms',
      'project falcon,  secret ',
      '--require-user',
      'true',
    ]);
    expect(policyChanges(args)).toEqual({
      requests_per_minute: 100,
      allowed_models: ['small', 'chat'],
      default_lane: 'batch',
      max_tokens_cap: null,
      pii_input: 'redact',
      blocked_terms: ['project falcon', 'secret'],
      require_user: true,
    });
  });

  it('refuses a number that is not one', () => {
    expect(() => policyChanges(parseArgs(['--daily-token-budget', '1e6']))).toThrow(UsageError);
    expect(() => policyChanges(parseArgs(['--daily-token-budget', '1e6']))).toThrow(
      /whole number or "inherit"/,
    );
  });
});
