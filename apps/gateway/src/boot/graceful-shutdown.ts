import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'pino';
import { InFlightTracker } from '@app/common';
import { ShutdownState } from './shutdown-state';

export interface ShutdownOptions {
  app: NestFastifyApplication;
  tracker: InFlightTracker;
  logger: Logger;
  timeoutMs: number;
  /** Runs after the app closed (e.g. stop the embedded Postgres). */
  afterClose?: () => Promise<void>;
}

/**
 * Stop accepting connections, let in-flight requests finish (up to timeoutMs, then cut
 * the connections), close the app (module destroy hooks flush buffers and close the
 * database), then whatever afterClose does.
 */
export async function shutdownGracefully(options: ShutdownOptions, reason: string): Promise<void> {
  const { app, tracker, logger, timeoutMs } = options;
  const started = Date.now();
  app.get(ShutdownState).draining = true;
  logger.info({ reason, inFlight: tracker.inFlight }, 'shutting down: draining in-flight requests');
  const fastify = app.getHttpAdapter().getInstance();
  const closing = fastify.close().catch((err: Error) => logger.warn({ err }, 'http close failed'));
  const drained = await tracker.idle(timeoutMs);
  if (drained) {
    fastify.server.closeIdleConnections(); // keep-alive sockets would hold close() open
  } else {
    logger.warn({ inFlight: tracker.inFlight, timeoutMs }, 'drain timeout: closing remaining connections');
    fastify.server.closeAllConnections();
  }
  await Promise.race([closing, new Promise((r) => setTimeout(r, 2000))]);
  await app.close();
  if (options.afterClose) await options.afterClose();
  logger.info({ durationMs: Date.now() - started }, 'shutdown complete');
  logger.flush();
}

/** SIGTERM/SIGINT run the shutdown once; a second signal exits at once. */
export function installSignalHandlers(options: ShutdownOptions): void {
  let shuttingDown = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      options.logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    shuttingDown = true;
    shutdownGracefully(options, signal).then(
      () => process.exit(0),
      (err: unknown) => {
        options.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
