/**
 * The gateway under test for bench/gateway/run.ts: the real gateway (ApiKeyGuard, RequestRateGuard,
 * quotas, lanes, metering into Postgres, pino request logs) with the native engine on the tiny
 * model (CPU), configured from the environment like the real one. Prints "READY <port>".
 */
import 'reflect-metadata';
import { createLogger, loadConfig } from '@app/common';
import { EngineModule } from '@app/engine';
import { createGatewayApp } from '../../apps/gateway/src/boot/create-app';
import { installSignalHandlers } from '../../apps/gateway/src/boot/graceful-shutdown';

async function main() {
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel);
  const { app, tracker } = await createGatewayApp({
    config,
    databaseUrl: config.databaseUrl!,
    logger,
    imports: [
      EngineModule.forRoot({
        modelPath: config.modelPath!,
        maxNumSeqs: config.maxNumSeqs,
        threads: Number(process.env.ENGINE_THREADS ?? 1),
        device: 'cpu',
      }),
    ],
  });
  installSignalHandlers({ app, tracker, logger, timeoutMs: config.shutdownTimeoutMs });
  await app.listen({ port: config.port, host: '127.0.0.1' });
  const address = app.getHttpServer().address();
  process.stderr.write(`READY ${typeof address === 'object' && address ? address.port : 0}\n`);
}

main().catch((err) => {
  process.stderr.write(`gateway failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
