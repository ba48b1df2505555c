import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { deleteInChunks, schedulePrune } from '@app/database';
import { BATCH_SETTINGS, BatchSettings } from '../batch-settings';

const EVERY_MS = 3_600_000;

/**
 * Deletes files past their `expires_at` (FILES_RETENTION_DAYS after upload), every hour, a chunk
 * at a time; the input file of a batch that has not ended is kept until it ends.
 */
@Injectable()
export class FilesRetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Files');
  private stop: (() => void) | null = null;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(BATCH_SETTINGS) private readonly settings: BatchSettings,
  ) {}

  onApplicationBootstrap(): void {
    if (this.settings.filesRetentionDays <= 0) return;
    this.stop = schedulePrune(() => this.prune(), EVERY_MS, this.logger, 'file retention');
  }

  onModuleDestroy(): void {
    this.stop?.();
  }

  /** Deletes the expired files; returns how many. */
  async prune(): Promise<number> {
    const total = await deleteInChunks(this.dataSource, {
      table: 'files',
      key: 'id',
      where: `t.expires_at < now()
              AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.input_file_id = t.id
                                 AND b.status IN ('validating', 'in_progress', 'cancelling'))`,
      chunk: 1000,
    });
    if (total > 0) this.logger.log(`deleted ${total} expired files`);
    return total;
  }
}
