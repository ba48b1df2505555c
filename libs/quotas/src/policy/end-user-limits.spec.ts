import { AppConfig } from '@app/common';
import { applyOverrides, defaultPolicy, resolvePolicy } from './effective-policy';
import { parsePolicyInput } from './policy-input';

const config = (raw: Record<string, number>) => ({ rateLimit: '100/minute', raw }) as unknown as AppConfig;

describe('end-user limits in quota policies (user_tokens_per_minute, user_daily_token_budget)', () => {
  it('defaults to no limit, or QUOTA_USER_TOKENS_PER_MINUTE', () => {
    expect(defaultPolicy(config({})).userTokensPerMinute).toBeNull();
    expect(defaultPolicy(config({ QUOTA_USER_TOKENS_PER_MINUTE: 5000 })).userTokensPerMinute).toBe(5000);
    expect(defaultPolicy(config({})).userDailyTokenBudget).toBeNull();
    expect(defaultPolicy(config({ QUOTA_USER_DAILY_TOKEN_BUDGET: 0 })).userDailyTokenBudget).toBe(0);
    expect(defaultPolicy(config({ QUOTA_USER_MONTHLY_TOKEN_BUDGET: 9 })).userMonthlyTokenBudget).toBe(9);
  });

  it('a key takes the tighter of its own and its tenant’s', () => {
    const tenant = applyOverrides(defaultPolicy(config({})), { userTokensPerMinute: 1000 });
    const resolve = (key: number | undefined) =>
      resolvePolicy('t', 'k', tenant, { userTokensPerMinute: key }).effective.userTokensPerMinute;
    expect(resolve(undefined)).toBe(1000);
    expect(resolve(200)).toBe(200);
    expect(resolve(5000)).toBe(1000);
    const budget = applyOverrides(defaultPolicy(config({})), { userDailyTokenBudget: 10_000 });
    expect(
      resolvePolicy('t', 'k', budget, { userDailyTokenBudget: 500 }).effective.userDailyTokenBudget,
    ).toBe(500);
    const month = applyOverrides(defaultPolicy(config({})), { userMonthlyTokenBudget: 700 });
    expect(
      resolvePolicy('t', 'k', month, { userMonthlyTokenBudget: 9000 }).effective.userMonthlyTokenBudget,
    ).toBe(700);
  });

  it('is a positive integer or null', () => {
    expect(parsePolicyInput({ user_tokens_per_minute: 300 }).userTokensPerMinute).toBe(300);
    expect(parsePolicyInput({ user_daily_token_budget: 0 }).userDailyTokenBudget).toBe(0);
    expect(() => parsePolicyInput({ user_tokens_per_minute: 0 })).toThrow(
      expect.objectContaining({ status: 400 }),
    );
  });

  it('require_user: off by default; set by the tenant or by the key, never cleared by a key', () => {
    const base = defaultPolicy(config({}));
    expect(base.requireUser).toBe(false);
    const tenantOn = applyOverrides(base, { requireUser: true });
    expect(resolvePolicy('t', 'k', tenantOn, { requireUser: false }).effective.requireUser).toBe(true);
    expect(resolvePolicy('t', 'k', base, { requireUser: true }).effective.requireUser).toBe(true);
    expect(parsePolicyInput({ require_user: true }).requireUser).toBe(true);
    expect(() => parsePolicyInput({ require_user: 'yes' })).toThrow(expect.objectContaining({ status: 400 }));
  });
});
