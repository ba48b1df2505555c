import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { schedulePrune } from '@app/database';
import { RESPONSES_SETTINGS, ResponsesSettings } from './responses-settings';
import { ResponsesStore } from './responses.store';

const EVERY_MS = 3_600_000;

/** Deletes stored responses RESPONSES_RETENTION_DAYS after they were created: a minute after start, then every hour. */
@Injectable()
export class ResponsesRetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Responses');
  private stop: (() => void) | null = null;

  constructor(
    private readonly store: ResponsesStore,
    @Inject(RESPONSES_SETTINGS) private readonly settings: ResponsesSettings,
  ) {}

  onApplicationBootstrap(): void {
    if (this.settings.retentionDays <= 0) return;
    const prune = async () => {
      const n = await this.store.prune();
      if (n > 0) this.logger.log(`deleted ${n} expired responses`);
    };
    this.stop = schedulePrune(prune, EVERY_MS, this.logger, 'response retention');
  }

  onModuleDestroy(): void {
    this.stop?.();
  }
}
