import { join } from 'node:path';
import {
  ConfigValidationError,
  createLogger,
  describeConfig,
  environmentWithEnvFile,
  loadConfig,
  AppConfig,
} from '@app/common';
import { resolveDatabase } from '@app/database';
import { EngineModule } from '@app/engine';
import { checkModelsFile, ModelsFileError } from '@app/inference';
import { createGatewayApp } from './boot/create-app';
import { installSignalHandlers } from './boot/graceful-shutdown';
import { reloadModelsOnSighup } from './boot/reload-on-sighup';
import { ensureAdminSecret, ensureDefaultModel } from './boot/local-defaults';

function readConfig(): AppConfig {
  try {
    return loadConfig(environmentWithEnvFile(join(process.cwd(), 'config', '.env')));
  } catch (err) {
    if (err instanceof ConfigValidationError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** A bad MODELS_FILE stops the server before the database starts, like a bad variable. */
function checkModels(config: AppConfig): void {
  try {
    checkModelsFile(config);
  } catch (err) {
    if (err instanceof ModelsFileError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger(config.logLevel);
  const log = (msg: string) => logger.info(msg);

  const secret = ensureAdminSecret(config);
  config.adminJwtSecret = secret.secret;
  config.modelPath = ensureDefaultModel(config, log);
  checkModels(config);

  const db = await resolveDatabase(config, log);
  let gateway;
  try {
    gateway = await createGatewayApp({
      config,
      databaseUrl: db.url,
      logger,
      imports: [EngineModule.fromConfig()],
    });
  } catch (err) {
    await db.stop();
    throw err;
  }
  const { app, tracker } = gateway;
  installSignalHandlers({
    app,
    tracker,
    logger,
    timeoutMs: config.shutdownTimeoutMs,
    afterClose: () => db.stop(),
  });
  reloadModelsOnSighup(app, logger);
  await app.listen({ port: config.port, host: config.host });

  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info(
    { config: describeConfig(config), port, embeddedDatabase: db.embedded },
    'llm-inference listening',
  );
  const shownHost = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  const lines = [
    `llm-inference listening on http://${shownHost}:${port} (docs: http://${shownHost}:${port}/docs)`,
  ];
  if (secret.file) {
    lines.push(
      `Admin JWT secret: ${secret.file}${secret.generated ? ' (generated)' : ''}. Mint an admin token with:`,
      '  npx llm-inference admin token --sub admin --role admin --ttl 1h',
    );
  }
  process.stderr.write(lines.join('\n') + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`llm-inference failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
