/**
 * A gateway replica in its own process (run with `node -r ./register-ts.cjs`), configured from
 * the environment like the real one, plus the quota probe route. Prints "READY <port>" once
 * listening. SIGTERM shuts it down gracefully (metering flushes); kill -9 is the crash test.
 */
import 'reflect-metadata';
import { createLogger, loadConfig } from '@app/common';
import { createGatewayApp } from '../../../apps/gateway/src/boot/create-app';
import { installSignalHandlers } from '../../../apps/gateway/src/boot/graceful-shutdown';
import { QuotaProbeModule } from '../quota-probe';

async function main() {
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel);
  const { app, tracker } = await createGatewayApp({
    config,
    databaseUrl: config.databaseUrl!,
    logger,
    imports: [QuotaProbeModule],
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
