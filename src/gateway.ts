/**
 * Composition root, by hand (no DI container), from small named builders: Redis → legacy
 * systems (real endpoints, or the embedded simulators, behind their adapters) → services →
 * queues (operations, workers) → HTTP app → listener. `startGateway` uses them all;
 * `startWorker` (the worker-only process) stops before the HTTP parts. Each builder registers
 * its shutdown step on a typed {@link Shutdown} list. `main.ts`/`worker.ts` add the signals;
 * tests and benches start them in-process.
 */
import { serve, type ServerType } from '@hono/node-server';
import type { Tracer } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  createCircuitStatus,
  createCrmAdapter,
  createTmoAdapter,
  type CrmAdapter,
  type TmoAdapter,
  type TransportTlsOptions,
} from './adapters/soap/index.ts';
import { createApp } from './api/app.ts';
import { createJwtAuthenticator } from './api/auth/authenticator.ts';
import { ensureDevKeys, type DevKeys } from './api/auth/dev-keys.ts';
import { requireScope } from './api/auth/middleware.ts';
import { rateLimit } from './api/middleware/rate-limit/index.ts';
import { createIdempotencyMiddleware } from './api/idempotency/index.ts';
import { serverSpans } from './api/middleware/tracing/index.ts';
import { createBatchOpsApp } from './api/ops/batch.ts';
import { createOpsApp, createOperationsApp } from './api/ops/index.ts';
import { ConfigError, ensureDevPayloadKey, type Config, type LegacySystemConfig, type LegacyTlsConfig, type PayloadKey } from './config.ts';
import type { CircuitStatusPort } from './domain/circuit.port.ts';
import type { CustomerMasterPort } from './domain/customer-master.port.ts';
import type { TerminalManagementPort } from './domain/terminal-management.port.ts';
import type { LastKnownPort } from './domain/read-model.port.ts';
import { createServices, type Services } from './domain/services/index.ts';
import type { Logger } from './infra/logger.ts';
import { restoreFastStringPrototype } from './infra/fast-prototypes.ts';
import { createMetrics, type Metrics } from './infra/metrics.ts';
import { startMetricsServer, type MetricsServer } from './infra/metrics-server.ts';
import { claimEmbeddedBoot } from './infra/embedded-keys.ts';
import { redisClientOptions, resolveRedis, type ResolvedRedis } from './infra/redis.ts';
import { runStartupChecks } from './infra/startup-checks.ts';
import { startTracing } from './infra/tracing.ts';
import { newOperationId } from './jobs/operation-store.ts';
import { createFieldCipher, toStringCipher } from './jobs/crypto/index.ts';
import { createRedisPacer, pacedPort } from './jobs/call-pacing.ts';
import { createLastKnownStore } from './jobs/last-known.ts';
import { createOperations, type Operations } from './jobs/operations.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, type SystemRetryPolicy } from './jobs/retry-policy.ts';
import { createWorkers, type Workers } from './jobs/worker.ts';
import { createTerminalActivityReader } from './jobs/batch/snapshot-store.ts';
import { createKeys } from './jobs/keys.ts';
import { createTermstatImporter, type TermstatImporter } from './jobs/batch/termstat-import.ts';
import type { FileTransferPort } from './domain/file-transfer.port.ts';
import type { TerminalActivityPort } from './domain/terminal-snapshot.ts';
import { termstatFormat, termstatTakenAfter } from './translators/batch/termstat.ts';
import { startCrmSimulator, startTmoSimulator, type CrmSimulator, type TmoSimulator } from './simulators/index.ts';
import { startFileExchange, type FileExchange } from './file-exchange.ts';
import { createTpuFormat } from './adapters/files/tpu-format.ts';
import { createBatchExport, type BatchExport } from './jobs/batch/index.ts';

export const TMO_WSDL_PATH = fileURLToPath(new URL('../fixtures/tmo/TerminalManagement.wsdl', import.meta.url));
export const CRM_WSDL_PATH = fileURLToPath(new URL('../fixtures/crm/CustomerService.wsdl', import.meta.url));

export interface GatewayOptions {
  /** serve HTTP (default true); false builds everything but the listener */
  listen?: boolean;
  /** run the BullMQ workers in this process (default: config.workers.inProcess) */
  workers?: boolean;
  /** TMO's file exchange for the settings files (default: the configured SFTP side, `legacy.fileExchange.files`) */
  files?: FileTransferPort;
  /**
   * Aborting it (SIGTERM during start-up) stops the start between steps: what was started so
   * far is closed (a private redis-server included) and the promise rejects with the reason.
   */
  signal?: AbortSignal;
  /**
   * Tests: where the spans go (an `InMemorySpanExporter`) instead of the configured exporter.
   * Tracing still starts only when the configuration turns it on (`OTEL_TRACES_EXPORTER`).
   */
  spanExporter?: SpanExporter;
}

/** Reports each shutdown step as it begins and ends (to name the one a deadline cut short). */
export type ShutdownProgress = (step: string, phase: 'start' | 'end') => void;

export interface Gateway extends WorkerProcess, Http {
  /** base URL of the HTTP API, e.g. http://127.0.0.1:8080 (null when not listening) */
  url: string | null;
  /**
   * Stops in {@link SHUTDOWN_ORDER}: HTTP (no new requests) → workers (finish current jobs) →
   * queues → adapters → Redis clients → simulators → private Redis → tracing (the last spans
   * exported). Every step runs once even if one fails; calling it again returns the same promise.
   */
  close(onStep?: ShutdownProgress): Promise<void>;
}

function retryPolicyOf(tmo: LegacySystemConfig, crm: LegacySystemConfig): RetryPolicy {
  const row = (c: LegacySystemConfig, base: SystemRetryPolicy): SystemRetryPolicy => ({
    ...base,
    attempts: c.retry.attempts,
    backoff: { ...base.backoff, baseMs: c.retry.backoffMs },
    maxAgeMs: c.retry.maxAgeMs,
    // a queued job waits about as long as the breaker stays open before its half-open probe
    breakerWaitMs: c.breaker.resetMs,
  });
  return { tmo: row(tmo, DEFAULT_RETRY_POLICY.tmo), crm: row(crm, DEFAULT_RETRY_POLICY.crm) };
}

/**
 * `TMO_CA_FILE`, `TMO_CLIENT_CERT_FILE`, `TMO_CLIENT_KEY_FILE` (and CRM's) read once at start-up
 * into the transport's TLS options; undefined when none is set (Node's default CAs, no client
 * certificate). An unreadable file stops the start with a ConfigError naming the variable.
 */
export function legacyTlsOf(system: 'TMO' | 'CRM', tls: LegacyTlsConfig): TransportTlsOptions | undefined {
  const read = (variable: string, file: string | undefined): Buffer | undefined => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new ConfigError([{ variable: `${system}_${variable}`, message: `cannot read ${file} (${code})` }]);
    }
  };
  const ca = read('CA_FILE', tls.caFile);
  const cert = read('CLIENT_CERT_FILE', tls.clientCertFile);
  const key = read('CLIENT_KEY_FILE', tls.clientKeyFile);
  if (!ca && !cert && !key) return undefined;
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

function adapterOptions(c: LegacySystemConfig, endpoint: string, system: 'TMO' | 'CRM') {
  const tls = legacyTlsOf(system, c.tls);
  return {
    endpoint,
    ...(tls === undefined ? {} : { tls }),
    username: c.username,
    password: c.password,
    timeoutMs: c.timeoutMs,
    breaker: {
      errorThresholdPercentage: c.breaker.errorThresholdPct,
      volumeThreshold: c.breaker.volumeThreshold,
      resetTimeoutMs: c.breaker.resetMs,
      rollingWindowMs: c.breaker.rollingWindowMs,
    },
    bulkhead: { limit: c.bulkhead.maxConcurrency, maxQueue: c.bulkhead.maxQueue },
  };
}

/** Shutdown steps in the order `close()` runs them: stop intake first, private Redis last. */
export const SHUTDOWN_ORDER = [
  'http',
  'workers',
  'batch',
  'operations',
  'last-known redis',
  'tmo adapter',
  'crm adapter',
  'file exchange',
  'idempotency redis',
  'rate limit redis',
  'metrics server',
  'embedded keys',
  'pacing redis',
  'simulators',
  'private redis',
  // last: the spans of every step above (jobs finishing, legacy calls) are exported
  'tracing',
] as const;
export type ShutdownStep = (typeof SHUTDOWN_ORDER)[number];

/**
 * The shutdown steps of one process, registered by the builders as they create things. A step
 * is named by a member of {@link ShutdownStep}, so a renamed or unknown step does not compile
 * (it cannot be skipped silently).
 */
export interface Shutdown {
  add(step: ShutdownStep, run: () => Promise<unknown> | unknown): void;
  /**
   * Runs every registered step in {@link SHUTDOWN_ORDER} (several under one name in the order
   * they were added), each exactly once even if an earlier one threw (failures are logged);
   * calling it again returns the same promise. `onStep` (of the first call) hears each step.
   */
  run(onStep?: ShutdownProgress): Promise<void>;
}

export function createShutdown(logger: Logger): Shutdown {
  const steps = new Map<ShutdownStep, Array<() => Promise<unknown> | unknown>>();
  let running: Promise<void> | undefined;
  return {
    add(step, run) {
      if (running) throw new Error(`shutdown already started: cannot add step ${step}`);
      steps.set(step, [...(steps.get(step) ?? []), run]);
    },
    run(onStep) {
      running ??= (async () => {
        for (const name of SHUTDOWN_ORDER) {
          for (const step of steps.get(name) ?? []) {
            onStep?.(name, 'start');
            try {
              await step();
            } catch (err) {
              logger.error({ err, step: name }, 'shutdown step failed');
            }
            onStep?.(name, 'end');
          }
        }
      })();
      return running;
    },
  };
}

/**
 * OpenTelemetry tracing when the configuration turns it on (src/infra/tracing.ts): the tracer the
 * HTTP edge, the adapters and the workers get; undefined when off (nothing is instrumented).
 */
export async function buildTracing(config: Config, shutdown: Shutdown, exporter?: SpanExporter): Promise<Tracer | undefined> {
  const tracing = await startTracing(config.tracing, exporter ? { exporter } : {});
  if (!tracing) return undefined;
  shutdown.add('tracing', () => tracing.shutdown());
  return tracing.tracer;
}

/**
 * The Redis every process uses: REDIS_URL (required in connected mode), else the local one,
 * else a private redis-server; then the start-up checks (eviction policy, persistence,
 * plaintext legacy URLs), which refuse an untrustworthy Redis before anything is built on it.
 */
export async function buildRedis(config: Config, logger: Logger, shutdown: Shutdown): Promise<ResolvedRedis> {
  const redis = await resolveRedis(config, logger);
  shutdown.add('private redis', () => redis.stop());
  await runStartupChecks(config, redis.url, logger);
  return redis;
}

/**
 * The key prefix of every queue and store. The embedded simulators keep their state in memory
 * for one boot only; a Redis that outlives the process (the shared local one) must not replay
 * idempotent answers or resume operations that point at records the fresh simulators never had.
 */
export function redisPrefixOf(config: Pick<Config, 'mode' | 'redisKeyPrefix'>): string {
  return config.mode === 'embedded' ? `${config.redisKeyPrefix}:embedded:${randomBytes(4).toString('hex')}` : config.redisKeyPrefix;
}

/**
 * Embedded mode: marks this boot's key prefix alive, sweeps the keys of dead boots, and deletes
 * this boot's keys at shutdown (after the workers and queues stopped writing them).
 */
export async function buildEmbeddedBoot(config: Config, redis: ResolvedRedis, prefix: string, shutdown: Shutdown): Promise<void> {
  if (config.mode !== 'embedded') return;
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1, lazyConnect: false });
  client.on('error', () => undefined);
  try {
    const boot = await claimEmbeddedBoot(client, config.redisKeyPrefix, prefix);
    shutdown.add('embedded keys', async () => {
      await boot.release();
      await client.quit();
    });
  } catch (err) {
    client.disconnect();
    throw err;
  }
}

export interface Legacy {
  tmo: TmoAdapter;
  crm: CrmAdapter;
  circuits: CircuitStatusPort;
  /** the embedded simulators, when no legacy URLs are configured */
  simulators: { tmo: TmoSimulator; crm: CrmSimulator } | null;
  /** the batch file exchange: SFTP adapter (`files`) and, in embedded mode, TMO's SFTP simulator */
  fileExchange: FileExchange;
}

/** Starts both SOAP simulators in-process (embedded mode), on free loopback ports. */
async function startEmbeddedSimulators(config: Config, shutdown: Shutdown): Promise<NonNullable<Legacy['simulators']>> {
  const [tmo, crm] = await Promise.all([
    // the simulators write their dates in the zone the gateway reads them in
    startTmoSimulator({ credentials: { username: config.tmo.username, password: config.tmo.password }, timeZone: config.legacyTimeZone }),
    startCrmSimulator({ credentials: { username: config.crm.username, password: config.crm.password }, timeZone: config.legacyTimeZone }),
  ]);
  shutdown.add('simulators', () => Promise.all([tmo.close(), crm.close()]));
  return { tmo, crm };
}

/** The legacy systems: the configured endpoints (or the embedded simulators) behind their adapters. */
export async function buildLegacy(config: Config, logger: Logger, metrics: Metrics, shutdown: Shutdown, tracer?: Tracer): Promise<Legacy> {
  const simulators = config.mode === 'embedded' ? await startEmbeddedSimulators(config, shutdown) : null;
  const tmoUrl = simulators?.tmo.url ?? config.tmo.url;
  const crmUrl = simulators?.crm.url ?? config.crm.url;
  if (!tmoUrl || !crmUrl) throw new Error('legacy endpoints are not configured');

  const tmo = await createTmoAdapter({
    ...adapterOptions(config.tmo, tmoUrl, 'TMO'),
    wsdlPath: TMO_WSDL_PATH,
    timeZone: config.legacyTimeZone,
    // not a child bound to `system`: every line an adapter writes names its system itself, and
    // pino would write a bound key a second time in the same line
    logger,
    ...(tracer ? { tracer } : {}),
  });
  shutdown.add('tmo adapter', () => tmo.close());
  const crm = await createCrmAdapter({
    ...adapterOptions(config.crm, crmUrl, 'CRM'),
    wsdlPath: CRM_WSDL_PATH,
    logger,
    ...(tracer ? { tracer } : {}),
  });
  shutdown.add('crm adapter', () => crm.close());
  const fileExchange = await startFileExchange(config, logger, simulators?.tmo ?? null);
  shutdown.add('file exchange', () => fileExchange.close());
  const withCircuits = fileExchange.files ? [tmo, crm, fileExchange.files] : [tmo, crm];
  for (const a of withCircuits) {
    a.onStateChange((ch) => {
      metrics.circuitTransition(ch.system, ch.to);
      logger.warn({ system: ch.system, from: ch.from, to: ch.to }, 'circuit %s is now %s', ch.system, ch.to);
    });
  }
  const circuits = createCircuitStatus(...withCircuits);
  metrics.watchCircuits(circuits);
  return { tmo, crm, circuits, simulators, fileExchange };
}

// Every method of each port, so every call a queued job makes is paced: a method added to a port
// and not listed here fails to compile (a Record needs each key of the port, and no other).
const TMO_CALLS = Object.keys({
  registerMerchant: true,
  getMerchant: true,
  orderTerminal: true,
  getTerminal: true,
  listTerminals: true,
  changeTerminalStatus: true,
} satisfies Record<keyof TerminalManagementPort, true>) as (keyof TerminalManagementPort)[];
const CRM_CALLS = Object.keys({
  createCustomer: true,
  getCustomer: true,
  updateCustomer: true,
  searchCustomers: true,
  addExternalRef: true,
} satisfies Record<keyof CustomerMasterPort, true>) as (keyof CustomerMasterPort)[];

/**
 * The use cases over the adapters; with `TMO_MAX_RATE_PER_S` / `CRM_MAX_RATE_PER_S` set, the
 * calls queued jobs make wait for that system's rate, shared by every process through Redis.
 */
export function buildServices(config: Config, legacy: Legacy, deps: { redis: ResolvedRedis; prefix: string }, shutdown: Shutdown): Services {
  if (config.tmo.maxRatePerS === undefined && config.crm.maxRatePerS === undefined) return createServices(legacy);
  // the gateway's command client (reconnects on READONLY after a failover), fail-fast like the last-known one
  const client = new Redis(deps.redis.url, redisClientOptions('commands', 2_000));
  client.on('error', () => undefined); // a failed acquire fails the job's attempt (StoreUnavailableError), which is retried
  shutdown.add('pacing redis', () => client.quit());
  const pace = <T extends object>(port: T, system: 'tmo' | 'crm', methods: readonly (keyof T & string)[]): T => {
    const ratePerS = config[system].maxRatePerS;
    return ratePerS === undefined ? port : pacedPort(port, methods, createRedisPacer({ redis: client, key: `${createKeys(deps.prefix).prefix}:pace:${system}`, ratePerS }));
  };
  return createServices({ tmo: pace(legacy.tmo, 'tmo', TMO_CALLS), crm: pace(legacy.crm, 'crm', CRM_CALLS) });
}

export interface Queues {
  operations: Operations;
  /** the BullMQ workers of this process; undefined when it only enqueues */
  workers: Workers | undefined;
}

/**
 * Feeds the queue, dead-letter, retry and Redis metrics: counts are read from Redis at scrape
 * time (every instance reports the same shared values), failed attempts are counted by the
 * workers of this process.
 */
export function watchQueues(metrics: Metrics, queues: Queues): void {
  const { operations, workers } = queues;
  metrics.watchQueues(operations.queues.all);
  metrics.watchDeadLetters(async () => (await operations.deadLetters.summary({ state: 'open' })).reduce((n, row) => n + row.count, 0));
  metrics.watchRedis(async () => (await operations.runtime.redis.ping()) === 'PONG');
  for (const w of workers?.workers ?? []) {
    const system = w.name.replace(/^ops-/, '');
    w.on('failed', (job) => metrics.jobAttemptFailed(system, Boolean(job?.finishedOn)));
  }
}

/**
 * Feeds the batch gauges the alerts read (deploy/prometheus/alerts.yaml): overdue settings files
 * from the ledger, the last successful scheduled export, the last TERMSTAT import from the import
 * runs. All read Redis at scrape time, so every instance reports the same values, also right
 * after a restart.
 */
export function watchBatch(metrics: Metrics, deps: { batch: BatchExport | null; termstatImporter: TermstatImporter | null }): void {
  const { batch, termstatImporter } = deps;
  metrics.watchBatch({
    ...(batch ? { overdueFiles: () => batch.ledger.overdueCount(), scheduledExportLastSucceededAt: () => batch.ledger.lastScheduledExportAt() } : {}),
    ...(termstatImporter
      ? {
          snapshotLastImportedAt: async () => {
            const imported = (await termstatImporter.list(IMPORT_RUNS_READ)).filter((r) => r.state === 'imported' && r.finishedAt);
            return imported.length === 0 ? null : Math.max(...imported.map((r) => Date.parse(r.finishedAt ?? '')));
          },
        }
      : {}),
  });
}

/** Import runs read for the last import time: the latest ones (one per snapshot found, kept 200). */
const IMPORT_RUNS_READ = 50;

/** The durable writes: operations (queues, stores) and, when `runWorkers`, this process's workers. */
export function buildQueues(
  config: Config,
  logger: Logger,
  deps: { redis: ResolvedRedis; prefix: string; services: Services; circuits: CircuitStatusPort; runWorkers: boolean; tracer?: Tracer | undefined },
  shutdown: Shutdown,
): Queues {
  const cipher = toStringCipher(createFieldCipher({ keys: payloadKeysOf(config) }), 'jobs');
  const operations = createOperations({
    lastKnown: buildLastKnown(config, logger, deps, shutdown),
    redisUrl: deps.redis.url,
    services: deps.services,
    cipher,
    circuits: deps.circuits,
    logger: logger.child({ component: 'operations' }),
    prefix: deps.prefix,
    leaseTtlMs: config.workers.leaseMs,
    livenessMs: config.workers.livenessMs,
    retryPolicy: retryPolicyOf(config.tmo, config.crm),
    succeededTtlMs: config.retention.operationDays * 86_400_000,
    retentionMs: config.retention.operationDays * 86_400_000,
    auditRetentionMs: config.retention.auditDays * 86_400_000,
    // an inline run makes at most four legacy calls; the safety job must wait for all of them
    inlineGraceMs: Math.max(60_000, 4 * Math.max(config.tmo.timeoutMs, config.crm.timeoutMs) * 2),
  });
  shutdown.add('operations', () => operations.close());

  const workers = deps.runWorkers
    ? createWorkers({
        operations,
        concurrency: config.workers.concurrency,
        lockDurationMs: config.workers.lockMs,
        stalledIntervalMs: config.workers.stalledIntervalMs,
        ...(deps.tracer ? { tracer: deps.tracer } : {}),
      })
    : undefined;
  if (workers) shutdown.add('workers', () => workers.close());
  return { operations, workers };
}

/**
 * The last-known copies of terminals and merchants (stale-if-error reads, docs/DECISIONS.md):
 * built in every process that runs writes, since a write completes inline in the gateway or later
 * in a worker, and the runner refreshes the copy either way. Its own fail-fast client: the API
 * reads it on the request path while legacy is down, and the writes are fire-and-forget.
 */
export function buildLastKnown(config: Config, logger: Logger, deps: { redis: ResolvedRedis; prefix: string }, shutdown: Shutdown): LastKnownPort {
  // Auto-pipelined: the copies that jobs finishing in one event-loop turn write leave in one socket write.
  const client = new Redis(deps.redis.url, { ...redisClientOptions('commands', 2_000), enableAutoPipelining: true });
  client.on('error', () => undefined); // a failed SET is logged by the store (once per 10 s); a failed GET is a 503 as before
  shutdown.add('last-known redis', () => client.quit());
  return createLastKnownStore({
    redis: client,
    // the deployment's hash-tagged prefix, like every other key (src/jobs/keys.ts)
    prefix: createKeys(deps.prefix).prefix,
    cipher: toStringCipher(createFieldCipher({ keys: payloadKeysOf(config) }), 'last-known'),
    ttlSeconds: config.readModelTtlSeconds,
    logger: logger.child({ component: 'last-known' }),
  });
}

export interface Termstat {
  /** the latest snapshot per terminal, for `GET /v1/terminals/{id}` */
  terminalActivity: TerminalActivityPort;
  /** the import (ops API, poller); null without a file exchange */
  termstatImporter: TermstatImporter | null;
}

/**
 * The TERMSTAT snapshot import (issue 6): the read model's reader (a fail-fast Redis client:
 * it sits on the terminal read path) and, given a file exchange, the importer; `poll` starts
 * its poller (`BATCH_SNAPSHOT_POLL_MS`) in this process. One import runs at a time across all
 * processes (a Redis lock), so every worker-running process may poll.
 */
export function buildTermstat(
  config: Config,
  logger: Logger,
  deps: { redis: ResolvedRedis; prefix: string; metrics: Metrics; files: FileTransferPort | null; poll: boolean },
  shutdown: Shutdown,
): Termstat {
  const readRedis = new Redis(deps.redis.url, { maxRetriesPerRequest: 1, commandTimeout: 1_000 });
  readRedis.on('error', () => undefined); // a failed read answers without activity and is logged there
  shutdown.add('batch', () => readRedis.quit());
  const terminalActivity = createTerminalActivityReader({
    redis: readRedis,
    prefix: deps.prefix,
    // when TMO's snapshot status held at the earliest (a stale terminal read takes it when later than its copy)
    takenAfter: (date) => termstatTakenAfter(date, config.legacyTimeZone),
  });
  if (!deps.files) return { terminalActivity, termstatImporter: null };

  const redis = new Redis(deps.redis.url, { maxRetriesPerRequest: null });
  redis.on('error', (err) => logger.warn({ err }, 'termstat redis connection error'));
  const termstatImporter = createTermstatImporter({
    redis,
    prefix: deps.prefix,
    files: deps.files,
    format: termstatFormat({ timeZone: config.legacyTimeZone }),
    // on the deployment's hash tag like every key: `{<prefix>}:events:terminals`
    eventsStream: config.termstat.eventsStream ?? `${createKeys(deps.prefix).prefix}:events:terminals`,
    eventsMaxLen: config.termstat.eventsMaxLen,
    settleMs: config.termstat.settleMs,
    closedTtlMs: config.retention.operationDays * 86_400_000,
    logger: logger.child({ component: 'termstat' }),
    metrics: deps.metrics.termstat,
  });
  if (deps.poll) termstatImporter.start(config.termstat.pollMs);
  shutdown.add('batch', () => termstatImporter.close());
  shutdown.add('batch', () => redis.quit());
  return { terminalActivity, termstatImporter };
}

async function jwksOf(config: Config): Promise<{ devKeys: DevKeys | null; jwks: Parameters<typeof createJwtAuthenticator>[0]['jwks'] }> {
  if (config.auth.mode === 'dev') {
    const devKeys = await ensureDevKeys(config.devDataDir);
    return { devKeys, jwks: { keys: devKeys.jwks } };
  }
  if (config.auth.mode === 'jwks-url' && config.auth.jwksUrl) return { devKeys: null, jwks: { url: config.auth.jwksUrl } };
  if (config.auth.mode === 'jwks-file' && config.auth.jwksFile) return { devKeys: null, jwks: { file: config.auth.jwksFile } };
  throw new Error('auth is not configured');
}

export interface Http {
  app: ReturnType<typeof createApp>;
  /** dev signing keys in embedded mode (mint tokens with `devKeys.signToken`) */
  devKeys: DevKeys | null;
}

/** The payload keyring: from the environment, or the dev key in embedded mode. */
function payloadKeysOf(config: Config): readonly PayloadKey[] {
  return config.payloadEncryption.source === 'env' ? config.payloadEncryption.keys : ensureDevPayloadKey(config.devDataDir);
}

/** The HTTP app: auth, idempotency (its own fail-fast Redis client), API, ops, metrics. */
export async function buildHttpApp(
  config: Config,
  logger: Logger,
  deps: {
    redis: ResolvedRedis;
    prefix: string;
    services: Services;
    circuits: CircuitStatusPort;
    operations: Operations;
    metrics: Metrics;
    termstat?: Termstat;
    batch?: BatchExport | null;
    tracer?: Tracer | undefined;
  },
  shutdown: Shutdown,
): Promise<Http> {
  const { auth: authConfig } = config;
  // a worker's configuration (loadConfig(env, 'worker')) has no auth: it cannot serve the API
  if (authConfig.mode === 'none') throw new Error('the HTTP API needs an auth configuration: load it with loadConfig(env), not as a worker');
  const { devKeys, jwks } = await jwksOf(config);
  const auth = createJwtAuthenticator({ jwks, issuer: authConfig.issuer, audience: authConfig.audience, subjectClaim: authConfig.subjectClaim });
  const { operations, circuits, metrics } = deps;

  // Fail fast (503) rather than hang a request when Redis is away: idempotency is fail-closed.
  const idemRedis = new Redis(deps.redis.url, redisClientOptions('commands', 2_000));
  idemRedis.on('error', () => undefined); // reported through health and the 503s, not as an unhandled event
  shutdown.add('idempotency redis', () => idemRedis.quit());
  const app = createApp({
    services: deps.services,
    auth,
    ...(config.rateLimit ? { rateLimit: buildRateLimit(config.rateLimit, logger, deps, shutdown) } : {}),
    logger,
    // the copies the runner refreshes on every completed write, read here while legacy is down
    ...(operations.runtime.lastKnown ? { lastKnown: operations.runtime.lastKnown } : {}),
    bodyLimitBytes: config.bodyLimitBytes,
    writes: operations,
    ...(deps.termstat ? { terminalActivity: deps.termstat.terminalActivity } : {}),
    beforeWrite: createIdempotencyMiddleware({
      redis: idemRedis,
      ttlSeconds: config.idempotencyTtlSeconds,
      keyPrefix: operations.runtime.keys.idempotencyPrefix,
      // a resend whose first request's process died resumes the same operation at once
      liveness: { instanceId: operations.runtime.liveness.id, keyOf: (id) => operations.runtime.liveness.keyOf(id) },
      newRef: newOperationId,
      // above the slowest inline write: four legacy calls at their timeout
      lockTtlSeconds: Math.ceil((4 * Math.max(config.tmo.timeoutMs, config.crm.timeoutMs)) / 1000) + 30,
      onError: (err, phase) => logger.error({ err, phase }, 'idempotency store failed'),
      onOutcome: (outcome) => metrics.idempotencyOutcome(outcome),
    }),
    health: {
      async ready() {
        const pong = await idemRedis.ping().then(
          (r) => r === 'PONG',
          () => false,
        );
        const states = Object.fromEntries(circuits.circuits().map((c) => [c.system, c.state]));
        // An open breaker does not make the gateway unready: writes are still accepted (202).
        return { ok: pong, checks: { redis: pong ? 'ok' : 'unreachable', circuits: states } };
      },
    },
    ops: createOpsApp({
      operations,
      deadLetters: operations.deadLetters,
      audit: operations.audit,
      circuits,
      queues: operations.queues.all,
      requireScope,
      ...(deps.termstat?.termstatImporter ? { batchImports: deps.termstat.termstatImporter } : {}),
    }),
    ...(deps.batch ? { terminalSettings: deps.batch.settings } : {}),
    extraRoutes: (root, tools) => {
      root.use('/v1/operations/*', tools.authenticate);
      root.route('/', createOperationsApp({ operations }));
      if (deps.batch) {
        const { exchange, ledger } = deps.batch;
        root.route('/ops', createBatchOpsApp({ exchange, ledger, audit: operations.audit, requireScope: tools.requireScope }));
      }
    },
    // tracing on: the server span outermost, so the metrics and everything after run inside it
    middleware: deps.tracer ? [serverSpans({ tracer: deps.tracer }), metrics.http] : metrics.http,
    corsOrigins: config.corsOrigins,
    pagePrefixes: ['/ops/queues'],
  });
  return { app, devKeys };
}

/**
 * The inbound rate limits (`RATE_LIMIT_*`), shared by every instance through Redis under the
 * deployment's hash tag (`{p}:rl:lease:<group>:<subject>`). Their own client with a short command
 * timeout: a slow Redis must not hold up reads for long; on failure the middleware counts in
 * memory (docs/DECISIONS.md), counted by `lgw_rate_limit_fallback_total` and warned at most
 * once a minute.
 */
function buildRateLimit(
  limits: NonNullable<Config['rateLimit']>,
  logger: Logger,
  deps: { redis: ResolvedRedis; prefix: string; metrics: Metrics },
  shutdown: Shutdown,
) {
  const client = new Redis(deps.redis.url, redisClientOptions('commands', 500));
  client.on('error', () => undefined); // reported by the fallback counter and warning below
  shutdown.add('rate limit redis', () => client.quit());
  let warnedAt = 0;
  return rateLimit({
    redis: client,
    keyPrefix: `${createKeys(deps.prefix).prefix}:rl`,
    windowSeconds: limits.windowSeconds,
    limits: { read: limits.read, write: limits.write, 'ops-read': limits.opsRead, 'ops-write': limits.opsWrite },
    onLimited: (group, subject) => {
      deps.metrics.rateLimit.limited(group);
      // names the client (token subject, as in the audit trail); the access log line does not
      logger.info({ group, subject }, 'rate limited');
    },
    onError: (err) => {
      deps.metrics.rateLimit.fallback();
      if (Date.now() - warnedAt < 60_000) return;
      warnedAt = Date.now();
      logger.warn({ err }, 'rate limits: Redis failed, counting in this process only (each instance holds the limit on its own)');
    },
  });
}

/**
 * The Prometheus listener on `METRICS_PORT` (null when off): `/metrics` is never served on the
 * API port (see src/infra/metrics-server.ts).
 */
export async function buildMetricsServer(config: Config, metrics: Metrics, shutdown: Shutdown): Promise<MetricsServer | null> {
  if (config.metricsPort === null) return null;
  const server = await startMetricsServer({ metrics, port: config.metricsPort, host: config.host });
  shutdown.add('metrics server', () => server.close());
  return server;
}

/** Serves `app` on config.host:config.port; returns its base URL. */
export async function listen(config: Config, app: Http['app'], shutdown: Shutdown): Promise<string> {
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s));
    s.once('error', reject);
  });
  shutdown.add(
    'http',
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeIdleConnections' in server) server.closeIdleConnections();
      }),
  );
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  return `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
}

/**
 * The terminal-settings file exchange (src/jobs/batch): schedules everywhere, its worker where
 * workers run. Off (null) without a file exchange (connected mode without `SFTP_HOST`).
 */
async function buildBatch(
  config: Config,
  logger: Logger,
  deps: { prefix: string; services: Services; operations: Operations; metrics: Metrics; runWorker: boolean; files: FileTransferPort | null },
  shutdown: Shutdown,
): Promise<BatchExport | null> {
  if (!deps.files) return null;
  const batch = await createBatchExport({
    operations: deps.operations,
    services: deps.services,
    files: deps.files,
    format: createTpuFormat(),
    config: config.batchExport,
    prefix: deps.prefix,
    runWorker: deps.runWorker,
    logger: logger.child({ component: 'batch' }),
    metrics: deps.metrics.batch,
  });
  shutdown.add('batch', () => batch.close());
  return batch;
}

/**
 * Builds with a fresh shutdown list; on failure runs what was registered so far, then rethrows.
 * `checkpoint()` (between builders) throws once `signal` is aborted, so a start-up interrupted
 * by a signal closes what it had started and goes no further.
 */
async function assemble<T>(
  logger: Logger,
  signal: AbortSignal | undefined,
  build: (shutdown: Shutdown, checkpoint: () => void) => Promise<T>,
): Promise<T & { close(onStep?: ShutdownProgress): Promise<void> }> {
  const shutdown = createShutdown(logger);
  const checkpoint = (): void => signal?.throwIfAborted();
  try {
    checkpoint();
    const built = await build(shutdown, checkpoint);
    checkpoint();
    // every module is loaded by now: undo what ioredis's `extends String` did to V8's String.prototype
    restoreFastStringPrototype();
    return { ...built, close: (onStep?: ShutdownProgress) => shutdown.run(onStep) };
  } catch (err) {
    await shutdown.run();
    throw err;
  }
}

export interface WorkerProcess extends Legacy, Queues {
  redis: ResolvedRedis;
  /** the terminal-settings file exchange (export, answers, schedules) */
  batch: BatchExport | null;
  metrics: Metrics;
  /** the separate Prometheus listener (`METRICS_PORT`), or null when it is off */
  metricsServer: MetricsServer | null;
  /** Stops the workers (finishing current jobs), queues, adapters, simulators, private Redis; once. */
  close(onStep?: ShutdownProgress): Promise<void>;
}

/** What every process builds first: Redis (checked), its key prefix, metrics, the legacy systems and the services over them. */
async function buildCore(config: Config, logger: Logger, shutdown: Shutdown, checkpoint: () => void, spanExporter?: SpanExporter) {
  const tracer = await buildTracing(config, shutdown, spanExporter);
  const redis = await buildRedis(config, logger, shutdown);
  checkpoint();
  const prefix = redisPrefixOf(config);
  await buildEmbeddedBoot(config, redis, prefix, shutdown);
  const metrics = createMetrics();
  const legacy = await buildLegacy(config, logger, metrics, shutdown, tracer);
  checkpoint();
  const services = buildServices(config, legacy, { redis, prefix }, shutdown);
  return { redis, prefix, metrics, legacy, services, tracer };
}

/** A worker-only process: Redis, legacy adapters, queues and workers; no HTTP app, dev keys or idempotency client. */
export function startWorker(config: Config, logger: Logger, opts: Pick<GatewayOptions, 'signal' | 'spanExporter'> = {}): Promise<WorkerProcess> {
  return assemble(logger, opts.signal, async (shutdown, checkpoint) => {
    const { redis, prefix, metrics, legacy, services, tracer } = await buildCore(config, logger, shutdown, checkpoint, opts.spanExporter);
    const queues = buildQueues(
      config,
      logger,
      { redis, prefix, services, circuits: legacy.circuits, runWorkers: true, tracer },
      shutdown,
    );
    const termstat = buildTermstat(config, logger, { redis, prefix, metrics, files: legacy.fileExchange.files, poll: true }, shutdown);
    watchQueues(metrics, queues);
    const batch = await buildBatch(config, logger, { prefix, services, operations: queues.operations, metrics, runWorker: true, files: legacy.fileExchange.files }, shutdown);
    watchBatch(metrics, { batch, termstatImporter: termstat.termstatImporter });
    const metricsServer = await buildMetricsServer(config, metrics, shutdown);
    return { redis, metrics, metricsServer, batch, ...legacy, ...queues };
  });
}

/**
 * A gateway without in-process workers only accepts writes: warn when no worker has been seen
 * on its queues (BullMQ's `getWorkers()`), since 202-accepted writes then wait for one. Returns
 * the number of workers seen.
 */
export async function warnWhenNoWorker(config: Config, logger: Logger, operations: Operations): Promise<number> {
  const seen = (await Promise.all(operations.queues.all.map((q) => q.getWorkers()))).reduce((n, ws) => n + ws.length, 0);
  if (seen > 0) return seen;
  if (config.mode === 'embedded') {
    logger.warn(
      'no worker runs in this process (WORKERS_IN_PROCESS=false) and none can join it: in embedded mode every process has its own ' +
        'simulators and its own Redis key prefix, so accepted writes will never run. Set WORKERS_IN_PROCESS=true, or run ' +
        '`npm run simulators` and start gateway and workers in connected mode (README, "Gateway and workers as separate processes")',
    );
  } else {
    logger.warn(
      { prefix: config.redisKeyPrefix },
      'no worker runs in this process (WORKERS_IN_PROCESS=false) and none has been seen on the queues: accepted writes wait until ' +
        '`npm run worker` starts with the same REDIS_URL and REDIS_KEY_PREFIX',
    );
  }
  return 0;
}

/** Builds and (by default) starts the gateway described by `config`. */
export function startGateway(config: Config, logger: Logger, opts: GatewayOptions = {}): Promise<Gateway> {
  return assemble(logger, opts.signal, async (shutdown, checkpoint) => {
    const { redis, prefix, metrics, legacy, services, tracer } = await buildCore(config, logger, shutdown, checkpoint, opts.spanExporter);
    const runWorkers = opts.workers ?? config.workers.inProcess;
    const queues = buildQueues(config, logger, { redis, prefix, services, circuits: legacy.circuits, runWorkers, tracer }, shutdown);
    const termstat = buildTermstat(config, logger, { redis, prefix, metrics, files: legacy.fileExchange.files, poll: runWorkers }, shutdown);
    watchQueues(metrics, queues);
    const files = opts.files ?? legacy.fileExchange.files;
    const batch = await buildBatch(config, logger, { prefix, services, operations: queues.operations, metrics, runWorker: runWorkers, files }, shutdown);
    watchBatch(metrics, { batch, termstatImporter: termstat.termstatImporter });
    const { app, devKeys } = await buildHttpApp(
      config,
      logger,
      { redis, prefix, services, circuits: legacy.circuits, operations: queues.operations, metrics, termstat, batch, tracer },
      shutdown,
    );
    const metricsServer = await buildMetricsServer(config, metrics, shutdown);
    checkpoint();
    if (!runWorkers) await warnWhenNoWorker(config, logger, queues.operations);
    const url = (opts.listen ?? true) ? await listen(config, app, shutdown) : null;
    return { url, app, redis, metrics, metricsServer, devKeys, batch, ...legacy, ...queues };
  });
}
