import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'pino';
import { ModelRegistry, ModelsFileError } from '@app/inference';
import { AuditService } from '@app/tenants';

/**
 * SIGHUP re-reads MODELS_FILE's aliases and fallbacks, as POST /admin/models/reload does
 * (systemd's `ExecReload=/bin/kill -HUP $MAINPID`), audited as models.reload by `signal:SIGHUP`.
 * A refused file (invalid, or with changed models) is logged and the routes in force stay.
 */
export function reloadModelsOnSighup(app: NestFastifyApplication, logger: Logger): void {
  process.on('SIGHUP', () => {
    let routes;
    try {
      routes = app.get(ModelRegistry).reloadRoutes();
    } catch (err) {
      if (!(err instanceof ModelsFileError)) throw err;
      logger.error({ err: err.message }, 'SIGHUP: MODELS_FILE not reloaded; the routes in force stay');
      return;
    }
    logger.info({ routes }, 'SIGHUP: MODELS_FILE aliases and fallbacks reloaded');
    app
      .get(AuditService)
      .record(
        { sub: 'signal:SIGHUP', role: 'system' },
        { action: 'models.reload', targetType: 'models', details: routes },
      )
      .catch((err: unknown) => logger.warn({ err }, 'SIGHUP: the reload was applied but not audited'));
  });
}
