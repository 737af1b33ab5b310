/**
 * The gateway's configuration: every environment variable it reads, parsed and checked once at
 * start-up. `loadConfig(env)` is the only place in the codebase that reads `process.env`; every
 * other module receives the typed, deeply frozen {@link Config} (or a slice of it) as an argument.
 *
 * An empty variable (`PORT=`) counts as unset. Invalid values throw one {@link ConfigError} that
 * names every bad variable and why; secret values are never echoed in it.
 *
 * Two modes, chosen by the legacy URLs:
 * - **embedded** — neither `TMO_URL` nor `CRM_URL` is set: the gateway starts the in-process legacy
 *   simulators with dev credentials, signs dev tokens with keys kept in `DEV_DATA_DIR`, uses a dev
 *   payload key kept there too, and uses (or starts) a local Redis when `REDIS_URL` is unset.
 * - **connected** — both are set: every credential, the JWKS and the payload keys are required.
 *   Setting only one of the two URLs is an error (a forgotten URL must not silently fall back to a
 *   simulator in production).
 *
 * | variable | default | meaning |
 * | --- | --- | --- |
 * | `PORT` | `8080` | HTTP port (0–65535; 0 picks a free one, the banner shows it) |
 * | `HOST` | `127.0.0.1` | interface to listen on. Loopback by default because the embedded mode accepts dev tokens anyone can mint; set `HOST=0.0.0.0` in a container |
 * | `LOG_LEVEL` | `info` | `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent` |
 * | `REDIS_URL` | — | `redis://` or `rediss://` URL. Required in connected mode. Unset in embedded mode: use a Redis answering on 127.0.0.1:6379, else start a private `redis-server` |
 * | `REDIS_ALLOW_NO_PERSISTENCE` | `false` | accept a Redis without AOF or RDB persistence in connected mode without the start-up warning |
 * | `SHUTDOWN_TIMEOUT_MS` | `30000` | on SIGTERM/SIGINT, exit non-zero (naming the step still running) if shutdown takes longer (1000–600000) |
 * | `LEGACY_ALLOW_PLAINTEXT` | `false` | accept `http://` `TMO_URL`/`CRM_URL` in connected mode (a warning is logged at start); otherwise they must be `https://` |
 * | `TMO_URL` | — | TMO SOAP endpoint (http/https). Unset together with `CRM_URL`: embedded simulators |
 * | `TMO_USERNAME`, `TMO_PASSWORD` | dev credentials in embedded mode | HTTP Basic credentials for TMO; required when `TMO_URL` is set |
 * | `CRM_URL` | — | CRM SOAP endpoint (http/https) |
 * | `CRM_USERNAME`, `CRM_PASSWORD` | dev credentials in embedded mode | WS-Security UsernameToken for CRM; required when `CRM_URL` is set |
 * | `TMO_TIMEOUT_MS`, `CRM_TIMEOUT_MS` | `3000` | per-call timeout (1–120000) |
 * | `TMO_BREAKER_ERROR_THRESHOLD_PCT`, `CRM_…` | `50` | failure percentage (1–100) in the rolling window that opens the breaker |
 * | `TMO_BREAKER_VOLUME_THRESHOLD`, `CRM_…` | `5` | minimum calls in the window before the breaker may open |
 * | `TMO_BREAKER_RESET_MS`, `CRM_…` | `10000` | how long the breaker stays open before a trial call |
 * | `TMO_BREAKER_ROLLING_WINDOW_MS`, `CRM_…` | `10000` | length of the breaker's statistics window |
 * | `TMO_MAX_CONCURRENCY`, `CRM_…` | `64` | bulkhead: calls in flight at once (1–10000) |
 * | `TMO_MAX_QUEUE`, `CRM_…` | `256` | bulkhead: calls waiting for a slot (0–100000); beyond it calls fail fast as unavailable |
 * | `TMO_RETRY_ATTEMPTS`, `CRM_…` | `8` | queued writes: attempts in all (1–100) |
 * | `TMO_RETRY_BACKOFF_MS`, `CRM_…` | `2000` | queued writes: base of the exponential backoff (with jitter) |
 * | `TMO_RETRY_MAX_AGE_MS`, `CRM_…` | `3600000` | queued writes: give up (dead letter) once a job is this old |
 * | `TMO_MAX_RATE_PER_S`, `CRM_…` | `0` (unlimited) | queued writes: most legacy operations per second started by all workers together (shared through Redis), so a backlog drains at the legacy system's pace (0–100000) |
 * | `TMO_CA_FILE`, `CRM_…` | — (the system's trust store) | with an `https://` URL only: PEM bundle of the CA(s) that sign the legacy system's TLS certificate (a private CA); replaces Node's default CAs for that system |
 * | `TMO_CLIENT_CERT_FILE`, `CRM_…` | — | PEM client certificate (chain) for mutual TLS; set together with the key |
 * | `TMO_CLIENT_KEY_FILE`, `CRM_…` | — | PEM private key of that certificate (unencrypted; file mode 0600) |
 * | `LEGACY_TIME_ZONE` | `Europe/Rome` | IANA zone the legacy dates and times are in (checked with `Intl`) |
 * | `AUTH_JWKS_URL` | — | JWKS endpoint (http/https) that verifies bearer tokens |
 * | `AUTH_JWKS_FILE` | — | JWKS file instead of a URL. Exactly one of the two; neither only in embedded mode (dev keys). The worker process (`npm run worker`, `loadConfig(env, 'worker')`) serves no API and reads no `AUTH_*` variable |
 * | `AUTH_ISSUER`, `AUTH_AUDIENCE` | dev values in embedded mode | required `iss` / `aud` claims; required with a JWKS |
 * | `AUTH_SUBJECT_CLAIM` | `sub` | claim that names the calling client (idempotency, operations, audit); a token without it gets 401 |
 * | `BODY_LIMIT_BYTES` | `65536` | largest accepted request body (1024–10485760) |
 * | `IDEMPOTENCY_TTL_SECONDS` | `86400` | how long an `Idempotency-Key` is remembered (60–2592000) |
 * | `READ_MODEL_TTL_SECONDS` | `604800` | how long the last-known copy of a terminal or merchant is kept to answer reads while its legacy system is down (60–31536000) |
 * | `PAYLOAD_ENCRYPTION_KEYS` | dev key in `DEV_DATA_DIR` in embedded mode | `id:<base64 of 32 bytes>,id2:…` — the first encrypts queued payloads, all decrypt (key rotation). Required in connected mode |
 * | `WORKERS_IN_PROCESS` | `true` | run the BullMQ workers inside the API process (`true`/`false`/`1`/`0`/`yes`/`no`) |
 * | `WORKER_CONCURRENCY` | `8` | jobs a worker runs at once (1–1000) |
 * | `WORKER_LOCK_MS` | `30000` | BullMQ job lock; a killed worker's job is taken over after about this long |
 * | `WORKER_STALLED_INTERVAL_MS` | `15000` | how often workers look for jobs of crashed workers |
 * | `OPERATION_LEASE_MS` | `30000` | per-operation lease, renewed while running; a crashed runner's expires after it |
 * | `INSTANCE_LIVENESS_MS` | `10000` | TTL of each process's liveness key (heartbeat every tenth): a killed process's leases and idempotency claims are taken over after about this long. Must outlast the longest Redis stall to ride out (1000–600000) |
 * | `REDIS_KEY_PREFIX` | `lgw` | prefix of every Redis key (queues, operations, idempotency, audit): several gateways can share one Redis database with different prefixes |
 * | `BATCH_SNAPSHOT_POLL_MS` | `60000` | how often the outbox is checked for a TERMSTAT snapshot (1000–86400000) |
 * | `BATCH_SNAPSHOT_SETTLE_MS` | `2000` | a snapshot whose size or time changes within this window is still being written and not read (0–600000) |
 * | `EVENTS_STREAM` | `<REDIS_KEY_PREFIX>:events:terminals` | Redis stream of `terminal.status_changed` events |
 * | `EVENTS_STREAM_MAXLEN` | `1000000` | approximate cap of the events stream (`MAXLEN ~`, 1000–100000000) |
 * | `DEV_DATA_DIR` | `.tmp/dev` | where embedded mode keeps its dev keys; resolved against the working directory |
 * | `METRICS_PORT` | off in connected mode; `0` (a free port, shown in the banner) in embedded mode | port of the separate Prometheus listener (`GET /metrics` on `HOST`); `/metrics` is never served on the API port. `off` turns it off |
 * | `CORS_ORIGINS` | — (CORS off) | comma-separated origins (`https://console.example`) allowed to call the API from a browser |
 * | `OPERATION_RETENTION_DAYS` | `30` | how long finished operation records (succeeded and failed), resolved dead letters and BullMQ's finished jobs are kept (1–3650) |
 * | `AUDIT_RETENTION_DAYS` | `400` | how long ops audit entries are kept (1–3650) |
 * | `SFTP_HOST` | — | TMO's SFTP server (batch files). Unset in embedded mode: an in-process SFTP server plays TMO's side; unset in connected mode: the batch exchange is off |
 * | `SFTP_PORT` | `22` | its port |
 * | `SFTP_USERNAME` | — | login user; required with `SFTP_HOST` |
 * | `SFTP_PRIVATE_KEY_FILE` | — | the login key (OpenSSH or PEM, no passphrase); required with `SFTP_HOST` |
 * | `SFTP_HOST_KEY_SHA256` | — | pinned host key fingerprint(s) `SHA256:<base64>` as `ssh-keygen -lf` prints them, comma-separated during a key rotation |
 * | `SFTP_KNOWN_HOSTS_FILE` | — | an OpenSSH known_hosts file instead. Exactly one of the two with `SFTP_HOST` |
 * | `SFTP_CONNECT_TIMEOUT_MS` | `10000` | connect + handshake + login, per attempt (3 attempts with backoff) |
 * | `SFTP_TIMEOUT_MS` | `30000` | per operation (list, stat, rename, remove, open, close) |
 * | `SFTP_INACTIVITY_TIMEOUT_MS` | `30000` | a transfer with no bytes moving for this long is aborted (counts toward the breaker) |
 * | `SFTP_READ_DEPTH` | `64` | 64 KiB reads in flight per download (1–256; 1 = sequential, for servers that fail on parallel reads) |
 * | `SFTP_SIM_PICKUP_MS` | `5000` | embedded mode: how often the simulated TMO picks up `/inbox` (BATCH.md: 5 minutes; 0 = only on `POST /_sim/batch/pickup`) |
 * | `BATCH_EXPORT_CRON` | `0 1 * * *` | when the terminal-settings file (TPU) is exported: cron, 5 fields (or 6 with seconds) |
 * | `BATCH_TIME_ZONE` | `Europe/Rome` | IANA zone of the export cron and of the file's day (`TPU_<YYYYMMDD>_<SEQ>.DAT`) |
 * | `BATCH_ANSWER_POLL_MS` | `60000` | how often TMO's answers (ACK/NAK/DUP) are looked for (1000–86400000) |
 * | `BATCH_ANSWER_OVERDUE_MS` | `21600000` | a sent file with no answer after this shows as overdue and alerts (60000–2592000000) |
 * | `RATE_LIMIT_ENABLED` | `true` | inbound rate limits per client (token subject) and route group, shared by every instance through Redis (`false`: none) |
 * | `RATE_LIMIT_WINDOW_SECONDS` | `60` | length of the fixed window the limits below count in (1–3600) |
 * | `RATE_LIMIT_READS` | `6000` | `GET`/`HEAD` on `/v1` per client per window (0 = unlimited) |
 * | `RATE_LIMIT_WRITES` | `1200` | other methods on `/v1` per client per window (0 = unlimited) |
 * | `RATE_LIMIT_OPS_READS` | `1200` | `GET`/`HEAD` on `/ops` per client per window (0 = unlimited) |
 * | `RATE_LIMIT_OPS_WRITES` | `120` | other methods on `/ops` (retry, discard: each may touch many records) per client per window (0 = unlimited) |
 * | `BATCH_NAK_MAX_RESENDS` | `1` | how often the changes of a file TMO refused whole (NAK) go out again before they become dead letters (0–10) |
 * | `OTEL_TRACES_EXPORTER` | `none`, or `otlp` when an OTLP endpoint variable is set | OpenTelemetry tracing: `otlp` (OTLP/HTTP JSON to the collector of `OTEL_EXPORTER_OTLP_ENDPOINT`, default `http://localhost:4318`), `console` or `none`. Off by default (unlike the SDK's own default) |
 * | `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | — | the collector (http/https); setting one turns tracing on when `OTEL_TRACES_EXPORTER` is unset. Read, with the other `OTEL_EXPORTER_OTLP_*` variables, by the exporter itself (src/infra/tracing.ts) |
 * | `OTEL_SDK_DISABLED` | `false` | `true` turns tracing off whatever else is set |
 * | `OTEL_SERVICE_NAME` | `legacy-gateway` | `service.name` of the spans |
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { z } from 'zod';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface BreakerConfig {
  readonly errorThresholdPct: number;
  readonly volumeThreshold: number;
  readonly resetMs: number;
  readonly rollingWindowMs: number;
}

export interface BulkheadConfig {
  readonly maxConcurrency: number;
  readonly maxQueue: number;
}

export interface RetryConfig {
  readonly attempts: number;
  readonly backoffMs: number;
  readonly maxAgeMs: number;
}

export interface LegacySystemConfig {
  /** SOAP endpoint; `undefined` in embedded mode (the simulator's address is only known once it listens) */
  readonly url: string | undefined;
  readonly username: string;
  readonly password: string;
  readonly timeoutMs: number;
  readonly breaker: BreakerConfig;
  readonly bulkhead: BulkheadConfig;
  readonly retry: RetryConfig;
  /** queued legacy operations per second across all workers; `undefined` = unlimited */
  readonly maxRatePerS: number | undefined;
  /** TLS to an `https:` endpoint: absolute paths, read at start-up (never logged) */
  readonly tls: LegacyTlsConfig;
}

/** Files for TLS to one legacy system; each `undefined` when unset. */
export interface LegacyTlsConfig {
  /** PEM CA bundle trusted instead of Node's default CAs */
  readonly caFile: string | undefined;
  /** PEM client certificate (mutual TLS), with {@link clientKeyFile} */
  readonly clientCertFile: string | undefined;
  readonly clientKeyFile: string | undefined;
}

export type AuthConfig = (
  /** embedded mode: tokens are signed and verified with dev keys kept in `devDataDir` */
  | { readonly mode: 'dev'; readonly issuer: string; readonly audience: string }
  /** the worker process: it serves no API, verifies no token and reads no `AUTH_*` variable */
  | { readonly mode: 'none' }
  | { readonly mode: 'jwks-url'; readonly jwksUrl: string; readonly issuer: string; readonly audience: string }
  | { readonly mode: 'jwks-file'; readonly jwksFile: string; readonly issuer: string; readonly audience: string }
) & {
  /** the claim naming the caller (`AUTH_SUBJECT_CLAIM`, default `sub`); tokens without it get 401 */
  readonly subjectClaim: string;
};

export interface PayloadKey {
  readonly id: string;
  /** 32 bytes (AES-256). Not frozen: typed arrays cannot be. Never log it. */
  readonly key: Buffer;
}

export type PayloadEncryptionConfig =
  /** from `PAYLOAD_ENCRYPTION_KEYS`: `keys[0]` encrypts, every key decrypts */
  | { readonly source: 'env'; readonly keys: readonly PayloadKey[] }
  /** embedded mode without the variable: use {@link ensureDevPayloadKey}(`devDataDir`) */
  | { readonly source: 'dev' };

/** TMO's SFTP server (BATCH.md); `host` undefined = embedded simulator (embedded mode) or no batch exchange. */
export interface SftpConfig {
  readonly host: string | undefined;
  readonly port: number;
  readonly username: string | undefined;
  /** absolute path of the private key file (read at start-up, never logged) */
  readonly privateKeyFile: string | undefined;
  /** pinned host key fingerprints `SHA256:…` */
  readonly hostKeySha256: readonly string[];
  /** absolute path */
  readonly knownHostsFile: string | undefined;
  readonly connectTimeoutMs: number;
  readonly timeoutMs: number;
  readonly inactivityTimeoutMs: number;
  readonly readDepth: number;
  /** embedded simulator's pick-up interval (0 = on demand only) */
  readonly simPickupMs: number;
}

/** OpenTelemetry tracing (src/infra/tracing.ts); `exporter: 'none'` = off, nothing registered. */
export interface TracingConfig {
  readonly exporter: 'otlp' | 'console' | 'none';
  readonly serviceName: string;
}

export interface Config {
  readonly mode: 'embedded' | 'connected';
  readonly port: number;
  readonly host: string;
  readonly logLevel: LogLevel;
  readonly redisUrl: string | undefined;
  readonly tmo: LegacySystemConfig;
  readonly crm: LegacySystemConfig;
  readonly legacyTimeZone: string;
  readonly auth: AuthConfig;
  readonly bodyLimitBytes: number;
  readonly idempotencyTtlSeconds: number;
  /** last-known copies of terminals and merchants (stale-if-error reads) live this long */
  readonly readModelTtlSeconds: number;
  readonly payloadEncryption: PayloadEncryptionConfig;
  readonly workers: {
    readonly inProcess: boolean;
    readonly concurrency: number;
    /** BullMQ job lock: a crashed worker's job is taken over after about this long */
    readonly lockMs: number;
    /** how often workers look for stalled jobs (of crashed workers) */
    readonly stalledIntervalMs: number;
    /** per-operation lease (renewed while running); a crashed runner's lease expires after it */
    readonly leaseMs: number;
    /** TTL of this process's liveness key: a dead process's leases and claims are taken over after it */
    readonly livenessMs: number;
  };
  /** prefix of every Redis key the gateway writes (queues, operations, idempotency, audit) */
  readonly redisKeyPrefix: string;
  /** the TERMSTAT snapshot import and the terminal events stream */
  readonly termstat: {
    readonly pollMs: number;
    readonly settleMs: number;
    /** undefined: `<effective Redis prefix>:events:terminals` */
    readonly eventsStream: string | undefined;
    readonly eventsMaxLen: number;
  };
  /** absolute path */
  readonly devDataDir: string;
  /** port of the separate metrics listener; `null` = no metrics listener */
  readonly metricsPort: number | null;
  /** origins allowed by CORS; empty = CORS off (no CORS headers at all) */
  readonly corsOrigins: readonly string[];
  readonly retention: {
    /** finished operation records, resolved/discarded dead letters, BullMQ finished jobs */
    readonly operationDays: number;
    readonly auditDays: number;
  };
  readonly sftp: SftpConfig;
  /** the terminal-settings file exchange (src/jobs/batch) */
  readonly batchExport: {
    readonly exportCron: string;
    readonly timeZone: string;
    readonly answerPollMs: number;
    readonly answerOverdueMs: number;
    readonly nakMaxResends: number;
  };
  /** connected mode: a Redis without persistence is accepted without the start-up warning */
  readonly redisAllowNoPersistence: boolean;
  /** how long a SIGTERM/SIGINT shutdown may take before the process exits non-zero */
  readonly shutdownTimeoutMs: number;
  /** connected mode: `http://` legacy URLs are accepted (a warning is logged at start) */
  readonly legacyAllowPlaintext: boolean;
  readonly tracing: TracingConfig;
  /** inbound rate limits (src/api/middleware/rate-limit); `null` = off */
  readonly rateLimit: RateLimitConfig | null;
}

/** Requests per window per client (token subject) and route group; 0 = no limit for that group. */
export interface RateLimitConfig {
  readonly windowSeconds: number;
  readonly read: number;
  readonly write: number;
  readonly opsRead: number;
  readonly opsWrite: number;
}

/** Credentials the embedded simulators accept; never valid against a real legacy system. */
export const DEV_LEGACY_CREDENTIALS = Object.freeze({
  tmo: Object.freeze({ username: 'GATEWAY-DEV', password: 'tmo-dev-password' }),
  crm: Object.freeze({ username: 'gateway-dev', password: 'crm-dev-password' }),
});

/** `iss` / `aud` of dev tokens when `AUTH_ISSUER` / `AUTH_AUDIENCE` are unset in embedded mode. */
export const DEV_AUTH = Object.freeze({ issuer: 'legacy-gateway-dev', audience: 'legacy-gateway' });

export interface ConfigIssue {
  variable: string;
  message: string;
}

/** One or more environment variables are invalid. `message` lists every one of them. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  ${i.variable}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Variables whose values must never appear in an error message or a log. */
// collector URLs may carry credentials in their user info
const SECRET_VARS = new Set(['TMO_PASSWORD', 'CRM_PASSWORD', 'PAYLOAD_ENCRYPTION_KEYS', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']);

// ---------------------------------------------------------------------------------------------
// Field parsers. Each takes the raw string (empty = unset) and adds an issue without the value;
// `loadConfig` appends `(got "…")` for non-secret variables.

const raw = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

function int(min: number, max: number, fallback: number) {
  const error = `must be an integer ${min}–${max}`;
  return raw.pipe(z.coerce.number<string>({ error }).int({ error }).min(min, { error }).max(max, { error }).default(fallback));
}

/** A URL of one of `protocols` (names without the colon, e.g. `['http', 'https']`). */
function url(protocols: readonly string[]) {
  const error = `must be a ${protocols.map((p) => `${p}://`).join(' or ')} URL`;
  return raw.pipe(z.url({ protocol: new RegExp(`^(?:${protocols.join('|')})$`), error }).optional());
}

const bool = (fallback: boolean) =>
  raw.pipe(z.stringbool({ truthy: ['true', '1', 'yes'], falsy: ['false', '0', 'no'], error: 'must be true or false' }).default(fallback));

const host = raw.transform((v, ctx) => {
  if (v === undefined) return '127.0.0.1';
  const hostname = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
  if (isIP(v) === 0 && !hostname.test(v)) {
    ctx.addIssue({ code: 'custom', message: 'must be an IP address or a host name' });
    return z.NEVER;
  }
  return v;
});

const logLevel = raw.transform((v, ctx): LogLevel => {
  if (v === undefined) return 'info';
  const level = LOG_LEVELS.find((l) => l === v.toLowerCase());
  if (level === undefined) {
    ctx.addIssue({ code: 'custom', message: `must be one of ${LOG_LEVELS.join(', ')}` });
    return z.NEVER;
  }
  return level;
});

const timeZone = raw.transform((v, ctx) => {
  if (v === undefined) return 'Europe/Rome';
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: v }).resolvedOptions().timeZone;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an IANA time zone, e.g. Europe/Rome' });
    return z.NEVER;
  }
});

const text = raw;

// minute hour day-of-month month day-of-week, optionally seconds first (BullMQ's cron-parser)
const cron = raw.transform((v, ctx) => {
  if (v === undefined) return '0 1 * * *';
  const fields = v.split(/\s+/);
  if ((fields.length !== 5 && fields.length !== 6) || !fields.every((f) => /^[0-9A-Za-z*,/?#LW-]+$/.test(f))) {
    ctx.addIssue({ code: 'custom', message: 'must be a cron expression of 5 fields (or 6 with seconds), e.g. 0 1 * * *' });
    return z.NEVER;
  }
  return v;
});

const keyPrefix = raw.transform((v, ctx) => {
  if (v === undefined) return 'lgw';
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(v)) {
    ctx.addIssue({ code: 'custom', message: 'must be 1–32 letters, digits, _ or -' });
    return z.NEVER;
  }
  return v;
});

const payloadKeys = raw.transform((v, ctx): PayloadKey[] | undefined => {
  if (v === undefined) return undefined;
  const keys: PayloadKey[] = [];
  const problems: string[] = [];
  v.split(',').forEach((entry, i) => {
    const at = entry.indexOf(':');
    const id = at < 0 ? '' : entry.slice(0, at).trim();
    const material = at < 0 ? '' : entry.slice(at + 1).trim();
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) {
      problems.push(`entry ${i + 1} must look like id:<base64> (id: letters, digits, _ or -)`);
      return;
    }
    if (keys.some((k) => k.id === id)) {
      problems.push(`key id "${id}" appears twice`);
      return;
    }
    const key = /^[A-Za-z0-9+/]+={0,2}$/.test(material) ? Buffer.from(material, 'base64') : Buffer.alloc(0);
    if (key.length !== 32) {
      problems.push(`key "${id}" must be base64 of exactly 32 bytes`);
      return;
    }
    keys.push({ id, key });
  });
  if (problems.length > 0) {
    ctx.addIssue({ code: 'custom', message: problems.join('; ') });
    return z.NEVER;
  }
  return keys;
});

const metricsPort = raw.transform((v, ctx): number | null | undefined => {
  if (v === undefined) return undefined;
  if (v.toLowerCase() === 'off') return null;
  const n = /^\d+$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n > 65_535) {
    ctx.addIssue({ code: 'custom', message: 'must be a port 0–65535 or off' });
    return z.NEVER;
  }
  return n;
});

const origins = raw.transform((v, ctx): string[] => {
  if (v === undefined) return [];
  const out: string[] = [];
  for (const entry of v.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(entry);
    } catch {
      parsed = undefined;
    }
    // an origin is scheme://host[:port] and nothing else; `*` is refused (the API takes bearer tokens)
    if (parsed === undefined || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== entry) {
      ctx.addIssue({ code: 'custom', message: `"${entry}" is not an origin like https://console.example (no path, no trailing slash, no *)` });
      return z.NEVER;
    }
    out.push(entry);
  }
  return out;
});

const optionalHost = raw.transform((v, ctx) => {
  if (v === undefined) return undefined;
  const hostname = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
  if (isIP(v) === 0 && !hostname.test(v)) {
    ctx.addIssue({ code: 'custom', message: 'must be an IP address or a host name' });
    return z.NEVER;
  }
  return v;
});

const fingerprints = raw.transform((v, ctx): string[] => {
  if (v === undefined) return [];
  const list = v.split(',').map((f) => f.trim());
  if (list.some((f) => !/^SHA256:[A-Za-z0-9+/]{43}$/.test(f))) {
    ctx.addIssue({ code: 'custom', message: 'must be SHA256:<43 base64 characters> as `ssh-keygen -lf` prints it (comma-separated for several)' });
    return z.NEVER;
  }
  return list;
});

/** The variables of one legacy system, without their `TMO_` / `CRM_` prefix. */
export const legacySystemEnvSchema = z.object({
  URL: url(['http', 'https']),
  USERNAME: text,
  PASSWORD: text,
  TIMEOUT_MS: int(1, 120_000, 3000),
  BREAKER_ERROR_THRESHOLD_PCT: int(1, 100, 50),
  BREAKER_VOLUME_THRESHOLD: int(1, 100_000, 5),
  BREAKER_RESET_MS: int(100, 3_600_000, 10_000),
  BREAKER_ROLLING_WINDOW_MS: int(100, 3_600_000, 10_000),
  MAX_CONCURRENCY: int(1, 10_000, 64),
  MAX_QUEUE: int(0, 100_000, 256),
  RETRY_ATTEMPTS: int(1, 100, 8),
  RETRY_BACKOFF_MS: int(1, 3_600_000, 2000),
  RETRY_MAX_AGE_MS: int(1000, 30 * 86_400_000, 3_600_000),
  MAX_RATE_PER_S: int(0, 100_000, 0),
  CA_FILE: text,
  CLIENT_CERT_FILE: text,
  CLIENT_KEY_FILE: text,
});

/** The gateway-wide variables (the legacy systems' own are in {@link legacySystemEnvSchema}). */
export const envSchema = z.object({
  PORT: int(0, 65_535, 8080),
  HOST: host,
  LOG_LEVEL: logLevel,
  REDIS_URL: url(['redis', 'rediss']),
  LEGACY_TIME_ZONE: timeZone,
  AUTH_JWKS_URL: url(['http', 'https']),
  AUTH_JWKS_FILE: text,
  AUTH_ISSUER: text,
  AUTH_AUDIENCE: text,
  AUTH_SUBJECT_CLAIM: raw.transform((v, ctx) => {
    if (v === undefined) return 'sub';
    if (!/^[A-Za-z_][\w:.-]{0,63}$/.test(v)) {
      ctx.addIssue({ code: 'custom', message: 'must be a claim name (letters, digits, _ : . -; up to 64)' });
      return z.NEVER;
    }
    return v;
  }),
  BODY_LIMIT_BYTES: int(1024, 10 * 1024 * 1024, 65_536),
  IDEMPOTENCY_TTL_SECONDS: int(60, 30 * 86_400, 86_400),
  READ_MODEL_TTL_SECONDS: int(60, 365 * 86_400, 7 * 86_400),
  PAYLOAD_ENCRYPTION_KEYS: payloadKeys,
  WORKERS_IN_PROCESS: bool(true),
  WORKER_CONCURRENCY: int(1, 1000, 8),
  WORKER_LOCK_MS: int(1_000, 600_000, 30_000),
  WORKER_STALLED_INTERVAL_MS: int(1_000, 600_000, 15_000),
  OPERATION_LEASE_MS: int(1_000, 600_000, 30_000),
  INSTANCE_LIVENESS_MS: int(1_000, 600_000, 10_000),
  REDIS_KEY_PREFIX: keyPrefix,
  BATCH_SNAPSHOT_POLL_MS: int(1_000, 86_400_000, 60_000),
  BATCH_SNAPSHOT_SETTLE_MS: int(0, 600_000, 2_000),
  EVENTS_STREAM: text,
  EVENTS_STREAM_MAXLEN: int(1_000, 100_000_000, 1_000_000),
  DEV_DATA_DIR: text,
  METRICS_PORT: metricsPort,
  CORS_ORIGINS: origins,
  OPERATION_RETENTION_DAYS: int(1, 3650, 30),
  AUDIT_RETENTION_DAYS: int(1, 3650, 400),
  SFTP_HOST: optionalHost,
  SFTP_PORT: int(1, 65_535, 22),
  SFTP_USERNAME: text,
  SFTP_PRIVATE_KEY_FILE: text,
  SFTP_HOST_KEY_SHA256: fingerprints,
  SFTP_KNOWN_HOSTS_FILE: text,
  SFTP_CONNECT_TIMEOUT_MS: int(100, 120_000, 10_000),
  SFTP_TIMEOUT_MS: int(100, 600_000, 30_000),
  SFTP_INACTIVITY_TIMEOUT_MS: int(100, 600_000, 30_000),
  SFTP_READ_DEPTH: int(1, 256, 64),
  SFTP_SIM_PICKUP_MS: int(0, 86_400_000, 5_000),
  BATCH_EXPORT_CRON: cron,
  BATCH_TIME_ZONE: timeZone,
  BATCH_ANSWER_POLL_MS: int(1_000, 86_400_000, 60_000),
  BATCH_ANSWER_OVERDUE_MS: int(60_000, 30 * 86_400_000, 6 * 3_600_000),
  BATCH_NAK_MAX_RESENDS: int(0, 10, 1),
  REDIS_ALLOW_NO_PERSISTENCE: bool(false),
  SHUTDOWN_TIMEOUT_MS: int(1_000, 600_000, 30_000),
  LEGACY_ALLOW_PLAINTEXT: bool(false),
  RATE_LIMIT_ENABLED: bool(true),
  RATE_LIMIT_WINDOW_SECONDS: int(1, 3600, 60),
  RATE_LIMIT_READS: int(0, 100_000_000, 6000),
  RATE_LIMIT_WRITES: int(0, 100_000_000, 1200),
  RATE_LIMIT_OPS_READS: int(0, 100_000_000, 1200),
  RATE_LIMIT_OPS_WRITES: int(0, 100_000_000, 120),
  OTEL_SDK_DISABLED: bool(false),
  OTEL_TRACES_EXPORTER: raw.transform((v, ctx) => {
    if (v === undefined) return undefined;
    const exporter = (['otlp', 'console', 'none'] as const).find((e) => e === v.toLowerCase());
    if (exporter === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must be otlp, console or none (the only trace exporters this gateway ships)' });
      return z.NEVER;
    }
    return exporter;
  }),
  OTEL_EXPORTER_OTLP_ENDPOINT: url(['http', 'https']),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url(['http', 'https']),
  OTEL_SERVICE_NAME: text,
});

/**
 * Which process reads the configuration. The worker (`npm run worker`) serves no API: it needs
 * no token verification, so `AUTH_*` are neither required nor read there (a shared environment
 * file may still hold them).
 */
export type ProcessKind = 'gateway' | 'worker';

/** Rules between variables; they look only at presence, so they run even when values are bad. */
function crossIssues(env: NodeJS.ProcessEnv, kind: ProcessKind): ConfigIssue[] {
  const has = (name: string) => (env[name] ?? '').trim() !== '';
  const issues: ConfigIssue[] = [];
  const connected = has('TMO_URL') || has('CRM_URL');
  if (has('TMO_URL') !== has('CRM_URL')) {
    const missing = has('TMO_URL') ? 'CRM_URL' : 'TMO_URL';
    issues.push({
      variable: missing,
      message: 'is required: set both TMO_URL and CRM_URL (real legacy systems) or neither (embedded simulators)',
    });
  }
  for (const p of ['TMO', 'CRM'] as const) {
    if (!has(`${p}_URL`)) continue;
    for (const v of [`${p}_USERNAME`, `${p}_PASSWORD`]) {
      if (!has(v)) issues.push({ variable: v, message: `is required when ${p}_URL is set` });
    }
  }
  for (const p of ['TMO', 'CRM'] as const) {
    if (has(`${p}_CLIENT_CERT_FILE`) !== has(`${p}_CLIENT_KEY_FILE`)) {
      issues.push({ variable: `${p}_CLIENT_KEY_FILE`, message: `set ${p}_CLIENT_CERT_FILE and ${p}_CLIENT_KEY_FILE together (mutual TLS) or neither` });
    }
    const tlsVar = [`${p}_CA_FILE`, `${p}_CLIENT_CERT_FILE`, `${p}_CLIENT_KEY_FILE`].find(has);
    // a TLS setting that would silently do nothing is a mistake worth stopping for
    if (tlsVar !== undefined && !/^\s*https:/i.test(env[`${p}_URL`] ?? '')) {
      issues.push({ variable: tlsVar, message: `applies only to an https:// ${p}_URL` });
    }
  }
  if (has('AUTH_JWKS_URL') && has('AUTH_JWKS_FILE')) {
    issues.push({ variable: 'AUTH_JWKS_FILE', message: 'set AUTH_JWKS_URL or AUTH_JWKS_FILE, not both' });
  }
  const jwks = has('AUTH_JWKS_URL') || has('AUTH_JWKS_FILE');
  if (connected && !jwks && kind === 'gateway') {
    issues.push({
      variable: 'AUTH_JWKS_URL',
      message: 'is required (or AUTH_JWKS_FILE) when TMO_URL/CRM_URL are set; dev keys exist only in embedded mode',
    });
  }
  if (jwks) {
    for (const v of ['AUTH_ISSUER', 'AUTH_AUDIENCE']) {
      if (!has(v)) issues.push({ variable: v, message: 'is required with AUTH_JWKS_URL or AUTH_JWKS_FILE' });
    }
  }
  if (connected && !has('REDIS_URL')) {
    issues.push({
      variable: 'REDIS_URL',
      message:
        'is required when TMO_URL/CRM_URL are set: accepted writes live in Redis, so connected mode never starts a private ' +
        'redis-server or uses whatever answers on 127.0.0.1:6379 (point it at a Redis with persistence and maxmemory-policy noeviction)',
    });
  }
  const plaintextAllowed = ['true', '1', 'yes'].includes((env.LEGACY_ALLOW_PLAINTEXT ?? '').trim().toLowerCase());
  for (const v of ['TMO_URL', 'CRM_URL']) {
    if (connected && !plaintextAllowed && /^\s*http:/i.test(env[v] ?? '')) {
      issues.push({
        variable: v,
        message: 'must be an https:// URL in connected mode (credentials travel with every call); set LEGACY_ALLOW_PLAINTEXT=true to accept http://',
      });
    }
  }
  if (connected && !has('PAYLOAD_ENCRYPTION_KEYS')) {
    issues.push({
      variable: 'PAYLOAD_ENCRYPTION_KEYS',
      message: 'is required when TMO_URL/CRM_URL are set (e.g. k1:<base64 of 32 random bytes>)',
    });
  }
  if (has('SFTP_HOST')) {
    for (const v of ['SFTP_USERNAME', 'SFTP_PRIVATE_KEY_FILE']) {
      if (!has(v)) issues.push({ variable: v, message: 'is required when SFTP_HOST is set' });
    }
    if (has('SFTP_HOST_KEY_SHA256') === has('SFTP_KNOWN_HOSTS_FILE')) {
      issues.push({
        variable: 'SFTP_HOST_KEY_SHA256',
        message: 'set exactly one of SFTP_HOST_KEY_SHA256 or SFTP_KNOWN_HOSTS_FILE when SFTP_HOST is set: the host key must be pinned',
      });
    }
  }
  return issues;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value) && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Parses and checks the environment into a deeply frozen {@link Config} (payload key Buffers
 * excepted: typed arrays cannot be frozen). Pure apart from resolving `DEV_DATA_DIR` against the
 * working directory: it neither reads files nor creates keys.
 * @throws {ConfigError} naming every invalid variable
 */
export function loadConfig(processEnv: NodeJS.ProcessEnv = process.env, kind: ProcessKind = 'gateway'): Config {
  // the worker reads no AUTH_* variable at all: neither required nor checked (see ProcessKind)
  const env = kind === 'worker' ? Object.fromEntries(Object.entries(processEnv).filter(([k]) => !k.startsWith('AUTH_'))) : processEnv;
  const issues: ConfigIssue[] = [];
  const collect = (error: z.ZodError, prefix: string) => {
    for (const issue of error.issues) {
      const variable = `${prefix}${String(issue.path[0] ?? '')}`;
      const value = env[variable];
      const got = SECRET_VARS.has(variable) || value === undefined ? '' : ` (got ${JSON.stringify(value)})`;
      issues.push({ variable, message: `${issue.message}${got}` });
    }
  };
  const unprefixed = (prefix: string) =>
    Object.fromEntries(
      Object.entries(env)
        .filter(([k]) => k.startsWith(prefix))
        .map(([k, v]) => [k.slice(prefix.length), v]),
    );
  const general = envSchema.safeParse(env);
  const tmo = legacySystemEnvSchema.safeParse(unprefixed('TMO_'));
  const crm = legacySystemEnvSchema.safeParse(unprefixed('CRM_'));
  if (!general.success) collect(general.error, '');
  if (!tmo.success) collect(tmo.error, 'TMO_');
  if (!crm.success) collect(crm.error, 'CRM_');
  issues.push(...crossIssues(env, kind));
  if (issues.length > 0 || !general.success || !tmo.success || !crm.success) throw new ConfigError(issues);

  const e = general.data;
  const system = (s: z.output<typeof legacySystemEnvSchema>, dev: { username: string; password: string }): LegacySystemConfig => ({
    url: s.URL,
    username: s.USERNAME ?? dev.username,
    password: s.PASSWORD ?? dev.password,
    timeoutMs: s.TIMEOUT_MS,
    breaker: {
      errorThresholdPct: s.BREAKER_ERROR_THRESHOLD_PCT,
      volumeThreshold: s.BREAKER_VOLUME_THRESHOLD,
      resetMs: s.BREAKER_RESET_MS,
      rollingWindowMs: s.BREAKER_ROLLING_WINDOW_MS,
    },
    bulkhead: { maxConcurrency: s.MAX_CONCURRENCY, maxQueue: s.MAX_QUEUE },
    retry: { attempts: s.RETRY_ATTEMPTS, backoffMs: s.RETRY_BACKOFF_MS, maxAgeMs: s.RETRY_MAX_AGE_MS },
    maxRatePerS: s.MAX_RATE_PER_S === 0 ? undefined : s.MAX_RATE_PER_S,
    tls: {
      caFile: s.CA_FILE === undefined ? undefined : resolve(s.CA_FILE),
      clientCertFile: s.CLIENT_CERT_FILE === undefined ? undefined : resolve(s.CLIENT_CERT_FILE),
      clientKeyFile: s.CLIENT_KEY_FILE === undefined ? undefined : resolve(s.CLIENT_KEY_FILE),
    },
  });

  const issuer = e.AUTH_ISSUER ?? DEV_AUTH.issuer;
  const audience = e.AUTH_AUDIENCE ?? DEV_AUTH.audience;
  const subjectClaim = e.AUTH_SUBJECT_CLAIM;
  const auth: AuthConfig =
    kind === 'worker'
      ? { mode: 'none', subjectClaim }
      : e.AUTH_JWKS_URL !== undefined
      ? { mode: 'jwks-url', jwksUrl: e.AUTH_JWKS_URL, issuer, audience, subjectClaim }
      : e.AUTH_JWKS_FILE !== undefined
        ? { mode: 'jwks-file', jwksFile: resolve(e.AUTH_JWKS_FILE), issuer, audience, subjectClaim }
        : { mode: 'dev', issuer, audience, subjectClaim };

  const mode = tmo.data.URL === undefined && crm.data.URL === undefined ? 'embedded' : 'connected';
  const config: Config = {
    mode,
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    redisUrl: e.REDIS_URL,
    tmo: system(tmo.data, DEV_LEGACY_CREDENTIALS.tmo),
    crm: system(crm.data, DEV_LEGACY_CREDENTIALS.crm),
    legacyTimeZone: e.LEGACY_TIME_ZONE,
    auth,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    idempotencyTtlSeconds: e.IDEMPOTENCY_TTL_SECONDS,
    readModelTtlSeconds: e.READ_MODEL_TTL_SECONDS,
    payloadEncryption:
      e.PAYLOAD_ENCRYPTION_KEYS === undefined ? { source: 'dev' } : { source: 'env', keys: e.PAYLOAD_ENCRYPTION_KEYS },
    workers: {
      inProcess: e.WORKERS_IN_PROCESS,
      concurrency: e.WORKER_CONCURRENCY,
      lockMs: e.WORKER_LOCK_MS,
      stalledIntervalMs: e.WORKER_STALLED_INTERVAL_MS,
      leaseMs: e.OPERATION_LEASE_MS,
      livenessMs: e.INSTANCE_LIVENESS_MS,
    },
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    termstat: {
      pollMs: e.BATCH_SNAPSHOT_POLL_MS,
      settleMs: e.BATCH_SNAPSHOT_SETTLE_MS,
      eventsStream: e.EVENTS_STREAM,
      eventsMaxLen: e.EVENTS_STREAM_MAXLEN,
    },
    devDataDir: resolve(e.DEV_DATA_DIR ?? '.tmp/dev'),
    // embedded: a free port, so several demo gateways on one machine never collide
    metricsPort: e.METRICS_PORT === undefined ? (mode === 'embedded' ? 0 : null) : e.METRICS_PORT,
    corsOrigins: e.CORS_ORIGINS,
    retention: { operationDays: e.OPERATION_RETENTION_DAYS, auditDays: e.AUDIT_RETENTION_DAYS },
    sftp: {
      host: e.SFTP_HOST,
      port: e.SFTP_PORT,
      username: e.SFTP_USERNAME,
      privateKeyFile: e.SFTP_PRIVATE_KEY_FILE === undefined ? undefined : resolve(e.SFTP_PRIVATE_KEY_FILE),
      hostKeySha256: e.SFTP_HOST_KEY_SHA256,
      knownHostsFile: e.SFTP_KNOWN_HOSTS_FILE === undefined ? undefined : resolve(e.SFTP_KNOWN_HOSTS_FILE),
      connectTimeoutMs: e.SFTP_CONNECT_TIMEOUT_MS,
      timeoutMs: e.SFTP_TIMEOUT_MS,
      inactivityTimeoutMs: e.SFTP_INACTIVITY_TIMEOUT_MS,
      readDepth: e.SFTP_READ_DEPTH,
      simPickupMs: e.SFTP_SIM_PICKUP_MS,
    },
    batchExport: {
      exportCron: e.BATCH_EXPORT_CRON,
      timeZone: e.BATCH_TIME_ZONE,
      answerPollMs: e.BATCH_ANSWER_POLL_MS,
      answerOverdueMs: e.BATCH_ANSWER_OVERDUE_MS,
      nakMaxResends: e.BATCH_NAK_MAX_RESENDS,
    },
    redisAllowNoPersistence: e.REDIS_ALLOW_NO_PERSISTENCE,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    legacyAllowPlaintext: e.LEGACY_ALLOW_PLAINTEXT,
    rateLimit: e.RATE_LIMIT_ENABLED
      ? {
          windowSeconds: e.RATE_LIMIT_WINDOW_SECONDS,
          read: e.RATE_LIMIT_READS,
          write: e.RATE_LIMIT_WRITES,
          opsRead: e.RATE_LIMIT_OPS_READS,
          opsWrite: e.RATE_LIMIT_OPS_WRITES,
        }
      : null,
    tracing: {
      // off by default: on with OTEL_TRACES_EXPORTER, or with an OTLP endpoint and no exporter named
      exporter: e.OTEL_SDK_DISABLED
        ? 'none'
        : (e.OTEL_TRACES_EXPORTER ??
          (e.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined || e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined ? 'otlp' : 'none')),
      serviceName: e.OTEL_SERVICE_NAME ?? 'legacy-gateway',
    },
  };
  return deepFreeze(config);
}

/** `redis://user:secret@host` → `redis://user:***@host`; anything unparsable → `***`. */
function safeUrl(u: string | undefined): string | undefined {
  if (u === undefined) return undefined;
  try {
    const parsed = new URL(u);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '***';
  }
}

/** A log-safe summary of the configuration: passwords and keys are `***`, URLs lose their passwords. */
export function describeConfig(config: Config): Record<string, unknown> {
  const system = (s: LegacySystemConfig) => ({
    url: s.url === undefined ? '(embedded simulator)' : safeUrl(s.url),
    username: s.username,
    password: '***',
    timeoutMs: s.timeoutMs,
    breaker: { ...s.breaker },
    bulkhead: { ...s.bulkhead },
    retry: { ...s.retry },
    tls: { ...s.tls },
  });
  const { auth } = config;
  return {
    mode: config.mode,
    port: config.port,
    host: config.host,
    logLevel: config.logLevel,
    redisUrl: config.redisUrl === undefined ? '(local or private redis-server)' : safeUrl(config.redisUrl),
    tmo: system(config.tmo),
    crm: system(config.crm),
    legacyTimeZone: config.legacyTimeZone,
    auth:
      auth.mode === 'none'
        ? { mode: 'none' }
        : auth.mode === 'dev'
        ? { mode: 'dev', issuer: auth.issuer, audience: auth.audience, subjectClaim: auth.subjectClaim, keys: config.devDataDir }
        : auth.mode === 'jwks-url'
          ? { mode: auth.mode, jwksUrl: safeUrl(auth.jwksUrl), issuer: auth.issuer, audience: auth.audience, subjectClaim: auth.subjectClaim }
          : { mode: auth.mode, jwksFile: auth.jwksFile, issuer: auth.issuer, audience: auth.audience, subjectClaim: auth.subjectClaim },
    bodyLimitBytes: config.bodyLimitBytes,
    idempotencyTtlSeconds: config.idempotencyTtlSeconds,
    readModelTtlSeconds: config.readModelTtlSeconds,
    payloadEncryption:
      config.payloadEncryption.source === 'dev'
        ? { source: 'dev', dir: config.devDataDir }
        : { source: 'env', keyIds: config.payloadEncryption.keys.map((k) => k.id), keys: '***' },
    workers: { ...config.workers },
    termstat: { ...config.termstat },
    devDataDir: config.devDataDir,
    metricsPort: config.metricsPort ?? 'off',
    corsOrigins: [...config.corsOrigins],
    retention: { ...config.retention },
    sftp:
      config.sftp.host === undefined
        ? { host: config.mode === 'embedded' ? '(embedded simulator)' : '(not configured: batch exchange off)' }
        : {
            host: config.sftp.host,
            port: config.sftp.port,
            username: config.sftp.username,
            privateKeyFile: config.sftp.privateKeyFile,
            hostKeySha256: config.sftp.hostKeySha256,
            knownHostsFile: config.sftp.knownHostsFile,
            connectTimeoutMs: config.sftp.connectTimeoutMs,
            timeoutMs: config.sftp.timeoutMs,
            inactivityTimeoutMs: config.sftp.inactivityTimeoutMs,
            readDepth: config.sftp.readDepth,
          },
    redisAllowNoPersistence: config.redisAllowNoPersistence,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    legacyAllowPlaintext: config.legacyAllowPlaintext,
    rateLimit: config.rateLimit === null ? 'off' : { ...config.rateLimit },
    tracing: { ...config.tracing },
  };
}

/**
 * Embedded mode only: the dev payload key, created (32 random bytes, file mode 0600) in `dir` on
 * first use and reused afterwards so queued jobs survive a restart.
 */
export function ensureDevPayloadKey(dir: string): readonly PayloadKey[] {
  const file = join(dir, 'payload-key.b64');
  let material: string;
  try {
    material = readFileSync(file, 'utf8').trim();
  } catch {
    mkdirSync(dir, { recursive: true });
    material = randomBytes(32).toString('base64');
    try {
      writeFileSync(file, `${material}\n`, { mode: 0o600, flag: 'wx' });
    } catch {
      // another process created it first: use theirs
      material = readFileSync(file, 'utf8').trim();
    }
  }
  const key = Buffer.from(material, 'base64');
  if (key.length !== 32) {
    throw new ConfigError([{ variable: 'DEV_DATA_DIR', message: `${file} does not hold a 32-byte base64 key; delete it to make a new one` }]);
  }
  return [{ id: 'dev', key }];
}

/** `npm run simulators`: both legacy simulators as one standalone process (see the README). */
export interface SimulatorsConfig {
  readonly host: string;
  /** 0 picks a free port (the printed environment then names it) */
  readonly tmoPort: number;
  readonly crmPort: number;
  readonly legacyTimeZone: string;
  /** the Redis the printed environment tells the gateway and the workers to share */
  readonly redisUrl: string;
  /** absolute path; holds the dev keys and the written `simulators.env` */
  readonly devDataDir: string;
}

const simulatorsEnvSchema = z.object({
  SIMULATORS_HOST: host,
  SIMULATOR_TMO_PORT: int(0, 65_535, 8081),
  SIMULATOR_CRM_PORT: int(0, 65_535, 8082),
  LEGACY_TIME_ZONE: timeZone,
  REDIS_URL: url(['redis', 'rediss']),
  DEV_DATA_DIR: text,
});

/**
 * | variable | default | meaning |
 * | --- | --- | --- |
 * | `SIMULATORS_HOST` | `127.0.0.1` | interface both simulators listen on |
 * | `SIMULATOR_TMO_PORT`, `SIMULATOR_CRM_PORT` | `8081`, `8082` | their ports (0 picks a free one) |
 * | `REDIS_URL` | `redis://127.0.0.1:6379` | the Redis written into the environment for gateway and worker |
 * | `LEGACY_TIME_ZONE`, `DEV_DATA_DIR` | as for the gateway | |
 * @throws {ConfigError} naming every invalid variable
 */
export function loadSimulatorsConfig(env: NodeJS.ProcessEnv = process.env): SimulatorsConfig {
  const parsed = simulatorsEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const variable = String(i.path[0] ?? '');
        return { variable, message: `${i.message} (got ${JSON.stringify(env[variable])})` };
      }),
    );
  }
  const e = parsed.data;
  return deepFreeze({
    host: e.SIMULATORS_HOST,
    tmoPort: e.SIMULATOR_TMO_PORT,
    crmPort: e.SIMULATOR_CRM_PORT,
    legacyTimeZone: e.LEGACY_TIME_ZONE,
    redisUrl: e.REDIS_URL ?? 'redis://127.0.0.1:6379',
    devDataDir: resolve(e.DEV_DATA_DIR ?? '.tmp/dev'),
  });
}
