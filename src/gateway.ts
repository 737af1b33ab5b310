/**
 * Assembles the gateway by hand (no DI container): config → logger → Redis → legacy systems
 * (real endpoints, or the embedded simulators) → adapters → services → operations/workers →
 * HTTP app → server. `main.ts` adds the signals; tests and benches start it in-process.
 */
import { serve, type ServerType } from '@hono/node-server';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createCircuitStatus, createCrmAdapter, createTmoAdapter, type CrmAdapter, type TmoAdapter } from './adapters/soap/index.ts';
import { createApp } from './api/app.ts';
import { createJwtAuthenticator } from './api/auth/authenticator.ts';
import { ensureDevKeys, type DevKeys } from './api/auth/dev-keys.ts';
import { requireScope } from './api/auth/middleware.ts';
import { createIdempotencyMiddleware } from './api/idempotency/index.ts';
import { createOpsApp, createOperationsApp } from './api/ops/index.ts';
import { ensureDevPayloadKey, type Config, type LegacySystemConfig, type PayloadKey } from './config.ts';
import type { CircuitStatusPort } from './domain/circuit.port.ts';
import { createServices } from './domain/services/index.ts';
import type { Logger } from './infra/logger.ts';
import { createMetrics, type Metrics } from './infra/metrics.ts';
import { resolveRedis, type ResolvedRedis } from './infra/redis.ts';
import { createFieldCipher, toStringCipher } from './jobs/crypto/index.ts';
import { createOperations, type Operations } from './jobs/operations.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, type SystemRetryPolicy } from './jobs/retry-policy.ts';
import { createWorkers, type Workers } from './jobs/worker.ts';
import { startCrmSimulator, startTmoSimulator, type CrmSimulator, type TmoSimulator } from './simulators/index.ts';
import { startFileExchange, type FileExchange } from './file-exchange.ts';

export const TMO_WSDL_PATH = fileURLToPath(new URL('../fixtures/tmo/TerminalManagement.wsdl', import.meta.url));
export const CRM_WSDL_PATH = fileURLToPath(new URL('../fixtures/crm/CustomerService.wsdl', import.meta.url));

export interface GatewayOptions {
  /** serve HTTP (default true); false builds everything but the listener */
  listen?: boolean;
  /** run the BullMQ workers in this process (default: config.workers.inProcess) */
  workers?: boolean;
}

export interface Gateway {
  /** base URL of the HTTP API, e.g. http://127.0.0.1:8080 (null when not listening) */
  url: string | null;
  app: ReturnType<typeof createApp> | null;
  redis: ResolvedRedis;
  tmo: TmoAdapter;
  crm: CrmAdapter;
  circuits: CircuitStatusPort;
  operations: Operations;
  workers: Workers | undefined;
  /** the embedded simulators, when no legacy URLs are configured */
  simulators: { tmo: TmoSimulator; crm: CrmSimulator } | null;
  /** the batch file exchange: SFTP adapter (`files`) and, in embedded mode, TMO's SFTP simulator */
  fileExchange: FileExchange;
  /** dev signing keys in embedded mode (mint tokens with `devKeys.signToken`) */
  devKeys: DevKeys | null;
  metrics: Metrics;
  /**
   * Stops in order — HTTP (no new requests) → workers (finish current jobs) → queues →
   * adapters → Redis clients → simulators → private Redis. Every step runs even if one
   * fails; calling it again returns the same promise.
   */
  close(): Promise<void>;
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

function adapterOptions(c: LegacySystemConfig, endpoint: string) {
  return {
    endpoint,
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

/** Runs `steps` in order, each even if an earlier one threw; logs failures. */
async function runAll(logger: Logger, steps: Array<[string, () => Promise<unknown> | unknown]>): Promise<void> {
  for (const [name, step] of steps) {
    try {
      await step();
    } catch (err) {
      logger.error({ err, step: name }, 'shutdown step failed');
    }
  }
}

/** Builds and (by default) starts the gateway described by `config`. */
export async function startGateway(config: Config, logger: Logger, opts: GatewayOptions = {}): Promise<Gateway> {
  const cleanup: Array<[string, () => Promise<unknown> | unknown]> = [];
  const fail = async (err: unknown): Promise<never> => {
    await runAll(logger, cleanup.reverse());
    throw err;
  };
  try {
    const redis = await resolveRedis(config, logger);
    cleanup.push(['private redis', () => redis.stop()]);

    let simulators: Gateway['simulators'] = null;
    let tmoUrl = config.tmo.url;
    let crmUrl = config.crm.url;
    if (config.mode === 'embedded') {
      const [tmoSim, crmSim] = await Promise.all([
        // the simulators write their dates in the zone the gateway reads them in
        startTmoSimulator({ credentials: { username: config.tmo.username, password: config.tmo.password }, timeZone: config.legacyTimeZone }),
        startCrmSimulator({ credentials: { username: config.crm.username, password: config.crm.password }, timeZone: config.legacyTimeZone }),
      ]);
      simulators = { tmo: tmoSim, crm: crmSim };
      cleanup.push(['simulators', () => Promise.all([tmoSim.close(), crmSim.close()])]);
      tmoUrl = tmoSim.url;
      crmUrl = crmSim.url;
    }
    if (!tmoUrl || !crmUrl) throw new Error('legacy endpoints are not configured');

    // The embedded simulators keep their state in memory for one boot only; a Redis that
    // outlives the process (the shared local one) must not replay idempotent answers or
    // resume operations that point at records the fresh simulators never had.
    const redisPrefix =
      config.mode === 'embedded' ? `${config.redisKeyPrefix}:embedded:${randomBytes(4).toString('hex')}` : config.redisKeyPrefix;

    const metrics = createMetrics();
    const tmo = await createTmoAdapter({
      ...adapterOptions(config.tmo, tmoUrl),
      wsdlPath: TMO_WSDL_PATH,
      timeZone: config.legacyTimeZone,
      logger: logger.child({ system: 'tmo' }),
    });
    cleanup.push(['tmo adapter', () => tmo.close()]);
    const crm = await createCrmAdapter({
      ...adapterOptions(config.crm, crmUrl),
      wsdlPath: CRM_WSDL_PATH,
      logger: logger.child({ system: 'crm' }),
    });
    cleanup.push(['crm adapter', () => crm.close()]);
    for (const a of [tmo, crm]) {
      a.onStateChange((ch) => {
        metrics.circuitTransition(ch.system, ch.to);
        logger.warn({ system: ch.system, from: ch.from, to: ch.to }, 'circuit %s is now %s', ch.system, ch.to);
      });
    }
    const fileExchange = await startFileExchange(config, logger, simulators?.tmo ?? null);
    cleanup.push(['file exchange', () => fileExchange.close()]);
    if (fileExchange.files) {
      fileExchange.files.onStateChange((ch) => {
        metrics.circuitTransition(ch.system, ch.to);
        logger.warn({ system: ch.system, from: ch.from, to: ch.to }, 'circuit %s is now %s', ch.system, ch.to);
      });
    }
    const circuits = createCircuitStatus(tmo, crm, ...(fileExchange.files ? [fileExchange.files] : []));
    metrics.watchCircuits(circuits);

    const services = createServices({ tmo, crm });

    const keys: readonly PayloadKey[] =
      config.payloadEncryption.source === 'env' ? config.payloadEncryption.keys : ensureDevPayloadKey(config.devDataDir);
    const cipher = toStringCipher(createFieldCipher({ keys }), 'jobs');
    const operations = createOperations({
      redisUrl: redis.url,
      services,
      cipher,
      circuits,
      logger: logger.child({ component: 'operations' }),
      prefix: redisPrefix,
      leaseTtlMs: config.workers.leaseMs,
      retryPolicy: retryPolicyOf(config.tmo, config.crm),
      // an inline run makes at most four legacy calls; the safety job must wait for all of them
      inlineGraceMs: Math.max(60_000, 4 * Math.max(config.tmo.timeoutMs, config.crm.timeoutMs) * 2),
    });
    cleanup.push(['operations', () => operations.close()]);

    const runWorkers = opts.workers ?? config.workers.inProcess;
    const workers = runWorkers
      ? createWorkers({
          operations,
          concurrency: config.workers.concurrency,
          lockDurationMs: config.workers.lockMs,
          stalledIntervalMs: config.workers.stalledIntervalMs,
        })
      : undefined;
    if (workers) cleanup.push(['workers', () => workers.close()]);

    let devKeys: DevKeys | null = null;
    let jwks: Parameters<typeof createJwtAuthenticator>[0]['jwks'];
    if (config.auth.mode === 'dev') {
      devKeys = await ensureDevKeys(config.devDataDir);
      jwks = { keys: devKeys.jwks };
    } else if (config.auth.mode === 'jwks-url' && config.auth.jwksUrl) {
      jwks = { url: config.auth.jwksUrl };
    } else if (config.auth.mode === 'jwks-file' && config.auth.jwksFile) {
      jwks = { file: config.auth.jwksFile };
    } else {
      throw new Error('auth is not configured');
    }
    const auth = createJwtAuthenticator({ jwks, issuer: config.auth.issuer, audience: config.auth.audience });

    // Fail fast (503) rather than hang a request when Redis is away: idempotency is fail-closed.
    const idemRedis = new Redis(redis.url, { maxRetriesPerRequest: 1, commandTimeout: 2_000, lazyConnect: false });
    idemRedis.on('error', () => undefined); // reported through health and the 503s, not as an unhandled event
    cleanup.push(['idempotency redis', () => idemRedis.quit()]);

    const app = createApp({
      services,
      auth,
      logger,
      bodyLimitBytes: config.bodyLimitBytes,
      writes: operations,
      beforeWrite: createIdempotencyMiddleware({
        redis: idemRedis,
        ttlSeconds: config.idempotencyTtlSeconds,
        keyPrefix: `${redisPrefix}:idem:`,
        // above the slowest inline write: four legacy calls at their timeout
        lockTtlSeconds: Math.ceil((4 * Math.max(config.tmo.timeoutMs, config.crm.timeoutMs)) / 1000) + 30,
        onError: (err, phase) => logger.error({ err, phase }, 'idempotency store failed'),
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
      }),
      extraRoutes: (root, tools) => {
        root.use('/v1/operations/*', tools.authenticate);
        root.route('/', createOperationsApp({ operations }));
        root.get('/metrics', async (c) => c.text(await metrics.render(), 200, { 'Content-Type': metrics.contentType }));
      },
      middleware: metrics.http,
    });

    let server: ServerType | null = null;
    let url: string | null = null;
    if (opts.listen ?? true) {
      server = await new Promise<ServerType>((resolve, reject) => {
        const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s));
        s.once('error', reject);
      });
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : config.port;
      url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    }

    let closing: Promise<void> | undefined;
    const http = server;
    return {
      url,
      app,
      redis,
      tmo,
      crm,
      circuits,
      operations,
      workers,
      simulators,
      fileExchange,
      devKeys,
      metrics,
      close() {
        const step = (name: string) => cleanup.filter(([n]) => n === name);
        closing ??= runAll(logger, [
          [
            'http',
            () =>
              new Promise<void>((resolve) => {
                if (!http) return resolve();
                http.close(() => resolve());
                if ('closeIdleConnections' in http) http.closeIdleConnections();
              }),
          ],
          ...step('workers'),
          ...step('operations'),
          ...step('tmo adapter'),
          ...step('crm adapter'),
          ...step('file exchange'),
          ...step('idempotency redis'),
          ...step('simulators'),
          ...step('private redis'),
        ]);
        return closing;
      },
    };
  } catch (err) {
    return fail(err);
  }
}
