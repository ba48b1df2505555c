export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The validated configuration. Optional settings are undefined when unset. */
export interface AppConfig {
  host: string;
  port: number;
  logLevel: LogLevel;
  dataDir: string;
  databaseUrl?: string;
  embeddedPostgresPort: number;
  databasePoolSize: number;
  redisUrl?: string;
  adminJwtSecret?: string;
  modelPath?: string;
  modelName?: string;
  gpuMemoryUtilization: number;
  maxModelLength?: number;
  maxNumSeqs: number;
  rateLimit: string;
  bodyLimitBytes: number;
  shutdownTimeoutMs: number;
  apiKeyCacheTtlMs: number;
  apiKeyStaleIfErrorMs: number;
  docsEnabled: boolean;
  /** Every validated variable by its environment name (for settings other libs add). */
  raw: Readonly<Record<string, string | number | boolean | undefined>>;
}
