/**
 * The gateway under test for bench/gateway/run.ts: the real gateway (ApiKeyGuard, RequestRateGuard,
 * quotas, lanes, metering into Postgres, pino request logs) with the native engine on the tiny
 * model (CPU, ENGINE_THREADS threads, default 1), configured from the environment like the real
 * one. Prints "READY <port>" on stderr (stdout carries the request logs).
 */
import { serveGateway } from '../../test/e2e/metering-support/serve-gateway';

serveGateway({ name: 'gateway', threads: Number(process.env.ENGINE_THREADS ?? 1), ready: process.stderr });
