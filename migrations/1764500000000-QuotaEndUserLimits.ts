import { MigrationInterface, QueryRunner } from 'typeorm';

/** Limits on each end user (the request's `user`) of a tenant or key, and whether `user` is required; NULL = inherit. */
export class QuotaEndUserLimits1764500000000 implements MigrationInterface {
  name = 'QuotaEndUserLimits1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE quota_policies
      ADD COLUMN user_tokens_per_minute integer NULL CHECK (user_tokens_per_minute > 0),
      ADD COLUMN user_daily_token_budget bigint NULL CHECK (user_daily_token_budget >= 0),
      ADD COLUMN user_monthly_token_budget bigint NULL CHECK (user_monthly_token_budget >= 0),
      ADD COLUMN require_user boolean NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE quota_policies DROP COLUMN user_tokens_per_minute, DROP COLUMN user_daily_token_budget,
        DROP COLUMN user_monthly_token_budget, DROP COLUMN require_user`,
    );
  }
}
