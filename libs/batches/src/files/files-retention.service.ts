import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { BATCH_SETTINGS, BatchSettings } from '../batch-settings';

const EVERY_MS = 3_600_000;
const CHUNK = 1000;

/**
 * Deletes files past their `expires_at` (FILES_RETENTION_DAYS after upload), every hour, a chunk
 * at a time; the input file of a batch that has not ended is kept until it ends.
 */
@Injectable()
export class FilesRetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Files');
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(BATCH_SETTINGS) private readonly settings: BatchSettings,
  ) {}

  onApplicationBootstrap(): void {
    if (this.settings.filesRetentionDays <= 0) return;
    const run = () =>
      this.prune().catch((err: Error) => this.logger.warn(`file retention failed: ${err.message}`));
    this.timer = setInterval(run, EVERY_MS);
    this.timer.unref();
    setTimeout(run, 60_000).unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Deletes the expired files; returns how many. */
  async prune(): Promise<number> {
    let total = 0;
    for (;;) {
      const rows: { n: number }[] = await this.dataSource.query(
        `WITH gone AS (
           DELETE FROM files WHERE id IN (
             SELECT f.id FROM files f
              WHERE f.expires_at < now()
                AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.input_file_id = f.id
                                   AND b.status IN ('validating', 'in_progress', 'cancelling'))
              LIMIT ${CHUNK})
           RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
      );
      const n = Number(rows[0]?.n ?? 0);
      total += n;
      if (n < CHUNK) break;
    }
    if (total > 0) this.logger.log(`deleted ${total} expired files`);
    return total;
  }
}
