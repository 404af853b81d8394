import { z } from 'zod';
import { webhookSecretProblem } from '../webhooks/signing.js';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const hostPort = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;
/** `host:port,host:port` -> [{ host, port }]. */
const hostPortList = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()).filter((s) => s !== ''))
  .refine((list) => list.length > 0 && list.every((s) => hostPort.test(s) && Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535), {
    message: 'a comma-separated list of host:port',
  })
  .transform((list) =>
    list.map((s) => {
      const at = s.lastIndexOf(':');
      return { host: s.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(s.slice(at + 1)) };
    }),
  );

/**
 * Every environment variable maskq reads, with its default. Read once at start
 * (`loadConfig`), then passed down as a plain object.
 */
export const configSchema = z.object({
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').default('redis://127.0.0.1:6379'),
  // Redis topology (docs/redis.md): REDIS_URL for one node, or Sentinel, or Cluster; at most one.
  /** Comma-separated host:port of the Sentinels; with REDIS_SENTINEL_NAME. */
  REDIS_SENTINELS: hostPortList.optional(),
  /** Name of the master the Sentinels watch. */
  REDIS_SENTINEL_NAME: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'letters, digits, ".", "_" and "-" only').optional(),
  /** Password of the Sentinels themselves (when they have `requirepass`). */
  REDIS_SENTINEL_PASSWORD: z.string().min(1).max(1024).optional(),
  /** Comma-separated host:port of some Cluster nodes (the rest are discovered). */
  REDIS_CLUSTER_NODES: hostPortList.optional(),
  /** TLS to Sentinel/Cluster nodes (for one node, use a rediss:// REDIS_URL). */
  REDIS_TLS: bool.default(false),
  /** PEM file with the CA that signed the Redis servers' certificates (default: the system CAs). */
  REDIS_TLS_CA_FILE: z.string().min(1).optional(),
  /** ACL user; overrides the user in REDIS_URL. */
  REDIS_USERNAME: z.string().min(1).max(1024).optional(),
  /** Password (or ACL user's password); overrides the password in REDIS_URL. */
  REDIS_PASSWORD: z.string().min(1).max(1024).optional(),
  /** > 0: after an enqueue, the API waits (WAIT) until this many replicas have the write before answering 202. */
  REDIS_WAIT_REPLICAS: int(0, 16).default(0),
  /** How long that WAIT may take; past it the submission answers 503. */
  REDIS_WAIT_TIMEOUT_MS: int(1, 60_000).default(1000),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" and "-" only')
    .default('maskq'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  // API
  HOST: z.string().default('127.0.0.1'),
  PORT: int(0, 65535).default(8000),
  MAX_IMAGE_BYTES: int(1, 100 * 1024 * 1024).default(10 * 1024 * 1024),
  MAX_BATCH_FILES: int(1, 1000).default(100),
  BLOB_TTL_SECONDS: int(10, 7 * 24 * 3600).default(3600),
  SYNC_TIMEOUT_MS: int(1, 120_000).default(10_000),
  /** Largest `metadata` JSON object a client may attach to a job, in bytes. */
  MAX_METADATA_BYTES: int(2, 64 * 1024).default(4096),
  /** Bound on each Redis call the API makes; past it the request answers 503 instead of hanging. */
  API_REDIS_TIMEOUT_MS: int(50, 60_000).default(2000),
  /** Interval of the comment lines that keep server-sent event streams open through proxies. */
  SSE_HEARTBEAT_MS: int(1000, 300_000).default(15_000),

  // Access control and limits (docs/api.md)
  /** Comma-separated API keys (Bearer). Hashed at start; the API drops the plaintext from its config. */
  API_KEYS: z.string().optional(),
  /** A file of API keys, one per line, `#` comments; read once at start. */
  API_KEYS_FILE: z.string().optional(),
  /** Lets the API listen on a non-loopback HOST without API keys. */
  ALLOW_UNAUTHENTICATED: bool.default(false),
  /** Per-key (per-IP without keys) submissions per second, shared by all replicas through Redis; 0 = off. */
  RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).max(1_000_000).default(0),
  /** Bucket size (images that may be submitted at once); 0 = max(1, RATE_LIMIT_PER_SECOND). */
  RATE_LIMIT_BURST: int(0, 1_000_000).default(0),
  /** Waiting jobs above which submissions get 503 `overloaded`; 0 = off. */
  MAX_QUEUE_DEPTH: int(0, 1_000_000_000).default(10_000),
  /** Bearer token that /metrics requires when set (16+ characters). */
  METRICS_TOKEN: z.string().min(16, 'at least 16 characters').max(1024).optional(),

  // Queue dashboard (/admin/queues): off unless both are set.
  ADMIN_USER: z.string().regex(/^[^:]{1,128}$/, '1-128 characters, no ":"').optional(),
  ADMIN_PASSWORD: z.string().min(8, 'at least 8 characters').max(1024).optional(),

  // Results
  RESULT_TTL_SECONDS: int(1, 30 * 24 * 3600).default(24 * 3600),
  FAILED_TTL_SECONDS: int(1, 30 * 24 * 3600).default(7 * 24 * 3600),

  // Model and inference
  MODEL_DIR: z.string().optional(),
  EXECUTION_PROVIDER: z.enum(['cpu', 'cuda']).default('cpu'),
  CUDA_FALLBACK: bool.default(true),
  INTRA_OP_THREADS: int(0, 256).default(0),
  /** Measured on the 2-core bench machine: 'all' runs this model 1.3x faster than 'extended' (docs/benchmarks.md). */
  GRAPH_OPTIMIZATION_LEVEL: z.enum(['disabled', 'basic', 'extended', 'all']).default('all'),
  /** Busy-waiting intra-op threads steal CPU from decoding and Redis I/O in the same process. */
  INTRA_OP_SPINNING: bool.default(false),
  MAX_IMAGE_PIXELS: int(1, 1_000_000_000).default(50_000_000),

  // Worker
  /** What a worker process runs: detection and webhook delivery (all), or one of them, to scale them apart. */
  WORKER_ROLE: z.enum(['all', 'detect', 'webhooks']).default('all'),
  WORKER_METRICS_PORT: int(0, 65535).default(9464),
  /** Loopback by default; containers set 0.0.0.0 so probes and Prometheus reach it. */
  WORKER_METRICS_HOST: z.string().default('127.0.0.1'),
  BATCH_MAX_SIZE: int(1, 256).default(16),
  BATCH_MAX_WAIT_MS: int(0, 10_000).default(5),
  LOCK_DURATION_MS: int(1000, 3_600_000).default(30_000),
  STALLED_INTERVAL_MS: int(1000, 3_600_000).default(30_000),
  MAX_STALLED_COUNT: int(0, 100).default(2),
  JOB_ATTEMPTS: int(1, 100).default(3),
  JOB_BACKOFF_MS: int(0, 3_600_000).default(1000),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(30_000),

  // Webhooks (docs/webhooks.md)
  /** `whsec_` + base64 key (>= 24 bytes). Unset: webhooks are off and callback_url is refused. */
  WEBHOOK_SECRET: z
    .string()
    .superRefine((value, ctx) => {
      const problem = webhookSecretProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  WEBHOOK_CONCURRENCY: int(1, 1000).default(16),
  WEBHOOK_TIMEOUT_MS: int(100, 60_000).default(5000),
  WEBHOOK_MAX_ATTEMPTS: int(1, 50).default(8),
  /** Full-jitter exponential backoff: retry k waits random [0, base * 2^(k-1)]; 30 s x 8 attempts spans ~1 h at most. */
  WEBHOOK_BACKOFF_BASE_MS: int(0, 3_600_000).default(30_000),
  /** Lets callbacks reach loopback/private/link-local addresses. Only for tests and trusted networks. */
  WEBHOOK_ALLOW_PRIVATE: bool.default(false),
  /** Comma-separated host names exempt from the address checks (e.g. an in-cluster receiver). */
  WEBHOOK_ALLOWED_HOSTS: z
    .string()
    .transform((v) => v.split(',').map((h) => h.trim().toLowerCase()).filter((h) => h !== ''))
    .default([]),
});

export type Config = z.output<typeof configSchema>;

/** Rules across variables (kept out of the schema so it stays a plain, extendable object). */
export function crossFieldProblems(config: Config, explicitlySet: ReadonlySet<string> = new Set()): string[] {
  const problems: string[] = [];
  const modes = [
    explicitlySet.has('REDIS_URL') ? 'REDIS_URL' : undefined,
    config.REDIS_SENTINELS ? 'REDIS_SENTINELS' : undefined,
    config.REDIS_CLUSTER_NODES ? 'REDIS_CLUSTER_NODES' : undefined,
  ].filter((m) => m !== undefined);
  if (modes.length > 1) {
    problems.push(`REDIS_URL: set one Redis topology only (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES), not ${modes.join(' and ')}`);
  }
  if ((config.REDIS_SENTINELS === undefined) !== (config.REDIS_SENTINEL_NAME === undefined)) {
    problems.push('REDIS_SENTINEL_NAME: set REDIS_SENTINELS and REDIS_SENTINEL_NAME together (or neither)');
  }
  if (config.REDIS_SENTINEL_PASSWORD !== undefined && config.REDIS_SENTINELS === undefined) {
    problems.push('REDIS_SENTINEL_PASSWORD: only used with REDIS_SENTINELS');
  }
  if ((config.ADMIN_USER === undefined) !== (config.ADMIN_PASSWORD === undefined)) {
    problems.push('ADMIN_PASSWORD: set ADMIN_USER and ADMIN_PASSWORD together (or neither)');
  }
  return problems;
}
