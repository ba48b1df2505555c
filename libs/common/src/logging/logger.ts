import pino, { DestinationStream, Logger } from 'pino';
import { LogLevel } from '../config/config.types';

/** Paths whose values never reach the logs. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  '*.authorization',
  '*.password',
  '*.secret',
  '*.token',
  '*.key',
  '*.apiKey',
  '*.api_key',
  '*.adminJwtSecret',
  '*.databaseUrl',
  '*.DATABASE_URL',
  '*.ADMIN_JWT_SECRET',
  '*.REDIS_URL',
];

/** Strings that look like secrets, masked wherever they appear in a message. */
const SECRET_PATTERNS: readonly [RegExp, string][] = [
  [/\bsk-([a-z0-9]{4,32})-[A-Za-z0-9_-]{8,}/g, 'sk-$1-[redacted]'],
  [/\bBearer\s+[A-Za-z0-9._~+/=-]+/gi, 'Bearer [redacted]'],
  [/(postgres(?:ql)?|redis|rediss):\/\/([^:@/\s]+):[^@/\s]+@/gi, '$1://$2:[redacted]@'],
];

export function maskSecrets(text: string): string {
  return SECRET_PATTERNS.reduce((acc, [re, replacement]) => acc.replace(re, replacement), text);
}

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'llm-inference' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        logMethod(args, method) {
          const masked = args.map((a) => (typeof a === 'string' ? maskSecrets(a) : a));
          return method.apply(this, masked as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}
