import { MigrationInterface, QueryRunner } from 'typeorm';

/** Quota policies name the models (ids or aliases) a tenant or key may call; NULL = every model. */
export class QuotaAllowedModels1764300000000 implements MigrationInterface {
  name = 'QuotaAllowedModels1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE quota_policies ADD COLUMN allowed_models text[] NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE quota_policies DROP COLUMN allowed_models`);
  }
}
