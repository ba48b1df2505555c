/**
 * Every setting the platform reads from the environment, with its type, default and
 * documentation. `config/.env.example` documents exactly these variables (a unit test
 * checks that the two agree). To add a setting: add an entry here and to the example file.
 */
export type ConfigValueType = 'string' | 'int' | 'float' | 'bool' | 'enum' | 'url';

export interface ConfigVariable {
  readonly name: string;
  readonly type: ConfigValueType;
  readonly description: string;
  /** Default as it would appear in the environment; undefined = optional, no default. */
  readonly default?: string;
  readonly min?: number;
  readonly max?: number;
  readonly values?: readonly string[];
  /** Accepted URL protocols for type 'url'. */
  readonly protocols?: readonly string[];
  /** Custom check returning an error text, or null when the value is fine. */
  readonly check?: (value: string) => string | null;
  /** Never print the value (logs, errors). */
  readonly secret?: boolean;
}

/** Weight quantizations of the native engine (CPU backend; native/src/backend/backend.h). */
export const QUANTIZATIONS = ['none', 'int8', 'int8-bf16', 'int4'] as const;
export type Quantization = (typeof QUANTIZATIONS)[number];

const RATE_LIMIT_FORMAT = /^\d+(\/(second|minute|hour|day))?$/;

export const CONFIG_VARIABLES: readonly ConfigVariable[] = [
  { name: 'HOST', type: 'string', default: '0.0.0.0', description: 'Interface the HTTP server binds to.' },
  {
    name: 'PORT',
    type: 'int',
    default: '8000',
    min: 0,
    max: 65535,
    description: 'HTTP port (0 = any free port).',
  },
  {
    name: 'LOG_LEVEL',
    type: 'enum',
    default: 'info',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    description: 'Minimum level of the JSON logs written to stdout.',
  },
  {
    name: 'DATA_DIR',
    type: 'string',
    default: '.data',
    description: 'Directory for local state: embedded Postgres, generated secrets, the default model.',
  },
  {
    name: 'DATABASE_URL',
    type: 'url',
    protocols: ['postgres:', 'postgresql:'],
    secret: true,
    description:
      'Postgres connection URL. Unset: an embedded Postgres is started with its data under DATA_DIR.',
  },
  {
    name: 'EMBEDDED_POSTGRES_PORT',
    type: 'int',
    default: '0',
    min: 0,
    max: 65535,
    description:
      'Port of the embedded Postgres (0 = pick a free port). Only used when DATABASE_URL is unset.',
  },
  {
    name: 'DATABASE_POOL_SIZE',
    type: 'int',
    default: '10',
    min: 1,
    max: 1000,
    description: 'Maximum number of Postgres connections of this process.',
  },
  {
    name: 'REDIS_URL',
    type: 'url',
    protocols: ['redis:', 'rediss:'],
    secret: true,
    description: 'Redis URL for limits shared between replicas. Unset: in-memory counters (one replica).',
  },
  {
    name: 'ADMIN_JWT_SECRET',
    type: 'string',
    secret: true,
    check: (v) => (v.length >= 32 ? null : 'must be at least 32 characters long'),
    description:
      'HMAC secret of the admin JWTs. Unset: generated once into DATA_DIR/admin-jwt-secret (embedded defaults).',
  },
  {
    name: 'MODEL_PATH',
    type: 'string',
    description:
      'Hugging Face Llama model directory. Unset: a tiny test model is generated into DATA_DIR/models/tiny-llama.',
  },
  {
    name: 'MODEL_NAME',
    type: 'string',
    description: 'Model id served by the API. Unset: the basename of MODEL_PATH.',
  },
  {
    name: 'MODELS_FILE',
    type: 'string',
    description:
      "JSON file of further models served beside MODEL_PATH's (each with its own engine), aliases (weighted, for A/B tests) and fallbacks; see docs/api.md.",
  },
  {
    name: 'GPU_MEMORY_UTILIZATION',
    type: 'float',
    default: '0.9',
    min: 0.05,
    max: 1,
    description: 'Fraction of GPU memory the engine may use (weights + KV cache).',
  },
  {
    name: 'MAX_MODEL_LENGTH',
    type: 'int',
    min: 16,
    max: 1048576,
    description: "Maximum context length (prompt + output tokens). Unset: the model's own limit.",
  },
  {
    name: 'MAX_NUM_SEQS',
    type: 'int',
    default: '64',
    min: 1,
    max: 4096,
    description: 'Maximum number of sequences the engine runs in one batch.',
  },
  {
    name: 'QUANTIZATION',
    type: 'enum',
    default: 'none',
    values: QUANTIZATIONS,
    description:
      'Weight quantization of the native engine (CPU backend): int8 = per-row int8 weights (half the memory, faster decode); int8-bf16 = the same times bf16-rounded activations (faster prompts and batches, needs AVX512_BF16); int4 = groups of 32 weights in 4 bits (a quarter of the memory) times int8 activations.',
  },
  {
    name: 'SPECULATIVE_NGRAM_TOKENS',
    type: 'int',
    default: '0',
    min: 0,
    max: 64,
    description:
      'Speculative decoding by prompt lookup: up to N draft tokens per sequence and step, copied from earlier text and verified exactly (outputs unchanged); 0 = off.',
  },
  {
    name: 'ENGINE_PROVIDER',
    type: 'enum',
    default: 'native',
    values: ['native', 'remote'],
    description: 'Engine: native (in-process, MODEL_PATH) or remote (OpenAI-compatible REMOTE_UPSTREAMS).',
  },
  {
    name: 'REMOTE_UPSTREAMS',
    type: 'string',
    check: (v) =>
      v.split(',').every((u) => /^https?:\/\/[^\s,]+$/.test(u.trim()))
        ? null
        : 'must be a comma-separated list of http(s) URLs',
    description: 'ENGINE_PROVIDER=remote: comma-separated base URLs of OpenAI-compatible upstreams.',
  },
  {
    name: 'REMOTE_API_KEY',
    type: 'string',
    secret: true,
    description:
      'ENGINE_PROVIDER=remote: bearer token sent to the upstreams (or a comma list, one per upstream).',
  },
  {
    name: 'LANE_QUEUE_DEPTH',
    type: 'int',
    default: '256',
    min: 1,
    max: 100000,
    description: 'Most requests waiting per priority lane; past it: 429 (tenant over its share) or 503.',
  },
  {
    name: 'LANE_MAX_WAIT_MS',
    type: 'int',
    default: '30000',
    min: 10,
    max: 3600000,
    description: 'Longest queue wait in the interactive/standard lanes (batch: 4x); past it: 503/429.',
  },
  {
    name: 'LANE_AGING_MS',
    type: 'int',
    default: '10000',
    min: 10,
    max: 3600000,
    description: 'Each period a request waits promotes it one lane (so batch never starves).',
  },
  {
    name: 'RATE_LIMIT',
    type: 'string',
    default: '600/minute',
    check: (v) => (RATE_LIMIT_FORMAT.test(v) ? null : 'must look like "N" or "N/second|minute|hour|day"'),
    description: 'Default per-tenant request rate limit, e.g. 600/minute.',
  },
  {
    name: 'BODY_LIMIT_BYTES',
    type: 'int',
    default: '1048576',
    min: 1024,
    max: 104857600,
    description: 'Largest accepted request body in bytes (larger: 413).',
  },
  {
    name: 'SHUTDOWN_TIMEOUT_MS',
    type: 'int',
    default: '10000',
    min: 0,
    max: 600000,
    description:
      'On SIGTERM/SIGINT: how long in-flight requests may take to finish before connections are closed.',
  },
  {
    name: 'API_KEY_CACHE_TTL_MS',
    type: 'int',
    default: '2000',
    min: 0,
    max: 5000,
    description: 'How long a verified API key is cached in memory (a revoke is visible after at most this).',
  },
  {
    name: 'API_KEY_STALE_IF_ERROR_MS',
    type: 'int',
    default: '300000',
    min: 0,
    max: 3600000,
    description:
      'While Postgres is unreachable, a cached API key and its quota policy are still served for up to this long after their last successful lookup (0: never).',
  },
  {
    name: 'DOCS_ENABLED',
    type: 'bool',
    default: 'true',
    description: 'Serve the OpenAPI documentation at /docs.',
  },
  {
    name: 'QUOTA_TOKENS_PER_MINUTE',
    type: 'int',
    default: '1000000',
    min: 1,
    description: 'Default per-tenant tokens per minute (prompt + max_tokens reserved, actual committed).',
  },
  {
    name: 'QUOTA_USER_TOKENS_PER_MINUTE',
    type: 'int',
    min: 1,
    description:
      "Default tokens per minute of each end user of a tenant (requests naming OpenAI's `user`). Unset: no per-user limit.",
  },
  {
    name: 'QUOTA_USER_DAILY_TOKEN_BUDGET',
    type: 'int',
    min: 0,
    description:
      "Default daily token budget of each end user of a tenant (UTC days; requests naming OpenAI's `user`). Unset: unlimited.",
  },
  {
    name: 'QUOTA_USER_MONTHLY_TOKEN_BUDGET',
    type: 'int',
    min: 0,
    description:
      "Default monthly token budget of each end user of a tenant (UTC months; requests naming OpenAI's `user`). Unset: unlimited.",
  },
  {
    name: 'QUOTA_MAX_CONCURRENT',
    type: 'int',
    default: '64',
    min: 1,
    description: 'Default maximum concurrent inference requests per tenant.',
  },
  {
    name: 'QUOTA_DAILY_TOKEN_BUDGET',
    type: 'int',
    min: 0,
    description: 'Default daily token budget per tenant (UTC days). Unset: unlimited.',
  },
  {
    name: 'QUOTA_MONTHLY_TOKEN_BUDGET',
    type: 'int',
    min: 0,
    description: 'Default monthly token budget per tenant (UTC months). Unset: unlimited.',
  },
  {
    name: 'QUOTA_MAX_TOKENS_CAP',
    type: 'int',
    min: 1,
    description: 'Default cap on max_tokens of one request. Unset: no cap beyond the model length.',
  },
  {
    name: 'GUARDRAILS_PII_INPUT',
    type: 'enum',
    default: 'off',
    values: ['off', 'redact', 'block'],
    description:
      'Default for tenants: personal data (emails, phones, cards, IBANs, SSNs, IPs) in requests is passed, replaced by placeholders, or refused (400).',
  },
  {
    name: 'GUARDRAILS_PII_OUTPUT',
    type: 'enum',
    default: 'off',
    values: ['off', 'redact'],
    description:
      'Default for tenants: personal data in generated text is passed or replaced by placeholders.',
  },
  {
    name: 'GUARDRAILS_PROMPT_INJECTION',
    type: 'enum',
    default: 'off',
    values: ['off', 'block'],
    description: 'Default for tenants: refuse (400) user or tool turns with known prompt-injection phrases.',
  },
  {
    name: 'GUARDRAILS_BLOCKED_TERMS',
    type: 'string',
    default: '',
    description: 'Default for tenants: comma-separated words or phrases a request may not contain (400).',
  },
  {
    name: 'METERING_ENABLED',
    type: 'bool',
    default: 'true',
    description: 'Record usage events (turn off only for benchmarks: no billing data is written).',
  },
  {
    name: 'METERING_FLUSH_INTERVAL_MS',
    type: 'int',
    default: '1000',
    min: 10,
    max: 60000,
    description: 'How often buffered usage events are written to Postgres.',
  },
  {
    name: 'METERING_BATCH_SIZE',
    type: 'int',
    default: '500',
    min: 1,
    max: 10000,
    description: 'Buffered usage events that trigger an early flush (also the largest INSERT).',
  },
  {
    name: 'METERING_MARKER_DELAY_MS',
    type: 'int',
    default: '100',
    min: 0,
    max: 10000,
    description:
      'A running request is journaled (billed after a crash) once it has run this long; 0 = at admission (no request lost to a kill -9; see docs/performance.md for the cost).',
  },
  {
    name: 'PRICES_FILE',
    type: 'string',
    description:
      "JSON file of prices per million tokens per model (and factors per lane, e.g. batch 0.5): usage reports and their CSV then carry each row's cost; see docs/api.md.",
  },
  {
    name: 'USAGE_RETENTION_DAYS',
    type: 'int',
    default: '90',
    min: 0,
    max: 36500,
    description: 'Raw usage events older than this are pruned daily (rollups are kept). 0 = keep forever.',
  },
  {
    name: 'FILES_MAX_BYTES',
    type: 'int',
    default: '104857600',
    min: 1024,
    max: 1073741824,
    description:
      'Largest file accepted by POST /v1/files in bytes (larger: 413). Files are stored in Postgres.',
  },
  {
    name: 'FILES_RETENTION_DAYS',
    type: 'int',
    default: '30',
    min: 0,
    max: 36500,
    description:
      'Files (batch inputs and outputs) are deleted this many days after upload, as OpenAI does; the input of a batch still running is kept. 0 = keep until deleted.',
  },
  {
    name: 'TENANT_STORAGE_MAX_BYTES',
    type: 'int',
    default: '10737418240',
    min: 0,
    max: 1099511627776,
    description:
      'Most bytes of files and stored responses one tenant may keep in Postgres (an upload or a stored response past it: 400 storage_limit_exceeded). 0 = no limit.',
  },
  {
    name: 'RESPONSES_RETENTION_DAYS',
    type: 'int',
    default: '30',
    min: 0,
    max: 36500,
    description:
      'Stored responses (POST /v1/responses with store: true) are deleted this many days after they were created, as OpenAI does. 0 = keep until deleted.',
  },
  {
    name: 'BATCH_MAX_REQUESTS',
    type: 'int',
    default: '50000',
    min: 1,
    max: 1000000,
    description: 'Most request lines in one batch input file.',
  },
  {
    name: 'BATCH_MAX_OPEN_PER_TENANT',
    type: 'int',
    default: '50',
    min: 1,
    max: 100000,
    description:
      'Batches a tenant may have open (validating, in progress or cancelling) at once; more: 429 batch_limit_exceeded.',
  },
  {
    name: 'BATCH_MAX_ACTIVE',
    type: 'int',
    default: '4',
    min: 0,
    max: 64,
    description: 'Batches one replica runs at a time (0 = this replica runs none).',
  },
  {
    name: 'BATCH_CONCURRENCY',
    type: 'int',
    default: '16',
    min: 1,
    max: 1024,
    description: 'Request lines of one batch in flight at a time on a replica (in the batch lane).',
  },
  {
    name: 'BATCH_POLL_MS',
    type: 'int',
    default: '1000',
    min: 50,
    max: 60000,
    description: 'How often a replica looks for batches to run.',
  },
  {
    name: 'BATCH_LEASE_MS',
    type: 'int',
    default: '60000',
    min: 1000,
    max: 3600000,
    description:
      'A replica holds a batch this long between renewals; a batch whose replica died is taken over after it.',
  },
  {
    name: 'METRICS_BEARER_TOKEN',
    type: 'string',
    secret: true,
    description: 'When set, GET /metrics requires "Authorization: Bearer <token>". Unset: /metrics is open.',
  },
  {
    name: 'METRICS_TENANT_LABELS',
    type: 'bool',
    default: 'true',
    description:
      'Export per-tenant token counters (llm_tenant_tokens_total); false removes them (cardinality).',
  },
  {
    name: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    type: 'url',
    protocols: ['http:', 'https:'],
    description: 'OTLP/HTTP collector base URL (traces go to <url>/v1/traces). Unset: tracing is off.',
  },
  {
    name: 'OTEL_SERVICE_NAME',
    type: 'string',
    default: 'llm-inference',
    description: 'service.name of the exported traces.',
  },
];
