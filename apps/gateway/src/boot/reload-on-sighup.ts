import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'pino';
import { ModelRegistry } from '@app/inference';
import { AuditService } from '@app/tenants';

/**
 * SIGHUP re-reads MODELS_FILE, as POST /admin/models/reload does (systemd's `ExecReload=/bin/kill
 * -HUP $MAINPID`), audited as models.reload by `signal:SIGHUP`. A refused file (invalid, or a model
 * that does not load) is logged and the models and routes in force stay.
 */
export function reloadModelsOnSighup(app: NestFastifyApplication, logger: Logger): void {
  process.on('SIGHUP', () => {
    void app
      .get(ModelRegistry)
      .reload()
      .then(
        (reload) => {
          logger.info({ reload }, 'SIGHUP: MODELS_FILE reloaded');
          return app
            .get(AuditService)
            .record(
              { sub: 'signal:SIGHUP', role: 'system' },
              { action: 'models.reload', targetType: 'models', details: reload },
            )
            .catch((err: unknown) => logger.warn({ err }, 'SIGHUP: the reload was applied but not audited'));
        },
        (err: unknown) => {
          const message = err instanceof Error ? err.message : String(err);
          logger.error(
            { err: message },
            'SIGHUP: MODELS_FILE not reloaded; the models and routes in force stay',
          );
        },
      );
  });
}
