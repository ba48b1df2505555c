import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/common';
import { deleteInChunks, schedulePrune } from '@app/database';

const EVERY_MS = 6 * 3_600_000;
const BATCH = 10_000;

/** Deletes raw usage events older than USAGE_RETENTION_DAYS (rollups are kept), in batches. */
@Injectable()
export class UsageRetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(UsageRetentionService.name);
  private stop: (() => void) | null = null;
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
    this.stop = schedulePrune(() => this.prune(), EVERY_MS, this.logger, 'usage retention');
  }

  onModuleDestroy(): void {
    this.stop?.();
  }

  /** Deletes events that started before now - retention; returns how many. */
  async prune(days = this.days, now = new Date()): Promise<number> {
    if (days <= 0) return 0;
    const cutoff = new Date(now.getTime() - days * 86_400_000);
    const total = await deleteInChunks(this.dataSource, {
      table: 'usage_events',
      key: 'request_id',
      where: 't.started_at < $1',
      params: [cutoff],
      chunk: BATCH,
    });
    if (total > 0) this.logger.log(`pruned ${total} usage events older than ${days} days`);
    return total;
  }
}
