/**
 * Serves the real gateway in this process, configured from the environment like the real one,
 * with the native engine on MODEL_PATH (CPU, `threads` engine threads). Writes "READY <port>" to
 * `ready` once listening; SIGTERM shuts it down gracefully (metering flushes). Run under
 * `node -r ./register-ts.cjs` by the e2e replica processes and the gateway benchmark.
 */
import 'reflect-metadata';
import { createLogger, loadConfig } from '@app/common';
import { EngineModule } from '@app/engine';
import { createGatewayApp } from '../../../apps/gateway/src/boot/create-app';
import { installSignalHandlers } from '../../../apps/gateway/src/boot/graceful-shutdown';

async function serve(threads: number, ready: NodeJS.WritableStream): Promise<void> {
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
        threads,
        device: 'cpu',
      }),
    ],
  });
  installSignalHandlers({ app, tracker, logger, timeoutMs: config.shutdownTimeoutMs });
  await app.listen({ port: config.port, host: '127.0.0.1' });
  const address = app.getHttpServer().address();
  ready.write(`READY ${typeof address === 'object' && address ? address.port : 0}\n`);
}

/** serve(), exiting with 1 and the error on stderr (prefixed with `name`) when it fails to start. */
export function serveGateway(o: { name: string; threads: number; ready: NodeJS.WritableStream }): void {
  serve(o.threads, o.ready).catch((err) => {
    process.stderr.write(`${o.name} failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
