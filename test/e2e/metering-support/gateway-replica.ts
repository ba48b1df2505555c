/**
 * A gateway replica in its own process (run with `node -r ./register-ts.cjs`), configured from
 * the environment like the real one, with the real native engine on MODEL_PATH (CPU, one
 * thread: the tests run two replicas on a 2-core CI machine). Prints "READY <port>" once
 * listening. SIGTERM shuts it down gracefully (metering flushes); kill -9 is the crash test.
 */
import { serveGateway } from './serve-gateway';

serveGateway({ name: 'replica', threads: 1, ready: process.stdout });
