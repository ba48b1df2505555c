/**
 * A gateway replica in its own process (run with `node -r ./register-ts.cjs`), configured from
 * the environment like the real one, with the real native engine on MODEL_PATH (CPU, one
 * thread: the tests run two replicas on a 2-core CI machine). Prints "READY <port>" once
 * listening. SIGTERM shuts it down gracefully (metering flushes); kill -9 is the crash test.
 */
import 'reflect-metadata';
import { createLogger, loadConfig } from '@app/common';
import { EngineModule } from '@app/engine';
import { createGatewayApp } from '../../../apps/gateway/src/boot/create-app';
import { installSignalHandlers } from '../../../apps/gateway/src/boot/graceful-shutdown';

async function main() {
  const config = loadConfig(process.env);
  if (!config.modelPath) throw new Error('MODEL_PATH is required');
  const logger = createLogger(config.logLevel);
  const { app, tracker } = await createGatewayApp({
    config,
    databaseUrl: config.databaseUrl!,
    logger,
    imports: [
      EngineModule.forRoot({
        modelPath: config.modelPath,
        maxNumSeqs: config.maxNumSeqs,
        threads: 1,
        device: 'cpu',
      }),
    ],
  });
  installSignalHandlers({ app, tracker, logger, timeoutMs: config.shutdownTimeoutMs });
  await app.listen({ port: config.port, host: '127.0.0.1' });
  const address = app.getHttpServer().address();
  process.stdout.write(`READY ${typeof address === 'object' && address ? address.port : 0}\n`);
}

main().catch((err) => {
  process.stderr.write(`replica failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
