import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { RESPONSES_SETTINGS, ResponsesSettings } from './responses-settings';
import { ResponsesStore } from './responses.store';

const EVERY_MS = 3_600_000;

/** Deletes stored responses RESPONSES_RETENTION_DAYS after they were created, every hour. */
@Injectable()
export class ResponsesRetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Responses');
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: ResponsesStore,
    @Inject(RESPONSES_SETTINGS) private readonly settings: ResponsesSettings,
  ) {}

  onApplicationBootstrap(): void {
    if (this.settings.retentionDays <= 0) return;
    const run = () =>
      this.store
        .prune()
        .then((n) => n > 0 && this.logger.log(`deleted ${n} expired responses`))
        .catch((err: Error) => this.logger.warn(`response retention failed: ${err.message}`));
    this.timer = setInterval(run, EVERY_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
