import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/common';

const EVERY_MS = 6 * 3_600_000;
const BATCH = 10_000;

/** Deletes raw usage events older than USAGE_RETENTION_DAYS (rollups are kept), in batches. */
@Injectable()
export class UsageRetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(UsageRetentionService.name);
  private timer: NodeJS.Timeout | null = null;
  private readonly days: number;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    const v = config.raw?.USAGE_RETENTION_DAYS;
    this.days = typeof v === 'number' ? v : 90;
  }

  onApplicationBootstrap(): void {
    if (this.days <= 0) return;
    const run = () =>
      this.prune().catch((err: Error) => this.logger.warn(`usage retention failed: ${err.message}`));
    this.timer = setInterval(run, EVERY_MS);
    this.timer.unref();
    setTimeout(run, 60_000).unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Deletes events that started before now - retention; returns how many. */
  async prune(days = this.days, now = new Date()): Promise<number> {
    if (days <= 0) return 0;
    const cutoff = new Date(now.getTime() - days * 86_400_000);
    let total = 0;
    for (;;) {
      const rows: { n: number }[] = await this.dataSource.query(
        `WITH gone AS (
           DELETE FROM usage_events WHERE request_id IN (
             SELECT request_id FROM usage_events WHERE started_at < $1 LIMIT ${BATCH})
           RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [cutoff],
      );
      const n = Number(rows[0]?.n ?? 0);
      total += n;
      if (n < BATCH) break;
    }
    if (total > 0) this.logger.log(`pruned ${total} usage events older than ${days} days`);
    return total;
  }
}
