/**
 * Prometheus metrics (prom-client) on a private registry: HTTP requests by route template
 * (never the concrete path: ids would explode cardinality and may be sensitive), circuit
 * breaker state and rolling counts per legacy system, queue depth and age per state, failed job
 * attempts (retries and final failures), open dead letters, idempotency replays and conflicts,
 * rate-limit refusals per route group, Redis reachability, and the process defaults. Labels carry no identifiers, IBANs or
 * credentials: every label value comes from a short fixed list. deploy/prometheus/alerts.yaml
 * alerts on them (see docs/OPERATIONS.md).
 */
import type { Queue } from 'bullmq';
import type { MiddlewareHandler } from 'hono';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CircuitState, CircuitStatusPort } from '../domain/circuit.port.ts';

const MAX_CACHED_SERIES = 2000;
const STATE_VALUE: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 };

export interface Metrics {
  readonly contentType: string;
  /** Hono middleware timing every request by method, route template and status. */
  http: MiddlewareHandler;
  circuitTransition(system: string, to: CircuitState): void;
  /** Reads state and window counts from the breakers at each scrape. */
  watchCircuits(circuits: CircuitStatusPort): void;
  /** Reads job counts per state and the oldest waiting job's age from the queues at each scrape. */
  watchQueues(queues: readonly Queue[]): void;
  /** How many dead letters are open (asked at most every 30 s: it reads every dead letter). */
  watchDeadLetters(countOpen: () => Promise<number>): void;
  /** Redis reachability, asked at each scrape (a PING). */
  watchRedis(ping: () => Promise<boolean>): void;
  /** A job attempt failed: `final` when BullMQ will not retry it (it is dead-lettered). */
  jobAttemptFailed(system: string, final: boolean): void;
  /** A request reused an Idempotency-Key. */
  idempotencyOutcome(outcome: 'replayed' | 'reused' | 'in_progress'): void;
  /** Inbound rate limits (src/api/middleware/rate-limit): label the route group only, never the client. */
  rateLimit: {
    /** a request was refused with 429 */
    limited(group: 'read' | 'write' | 'ops-read' | 'ops-write'): void;
    /** Redis failed: the request was counted in this process's memory instead */
    fallback(): void;
  };
  /** Settings-file exchange counters (src/jobs/batch): kinds and outcomes only, never names or ids. */
  batch: {
    fileSent(): void;
    answer(kind: 'ack' | 'nak' | 'dup' | 'invalid'): void;
    records(outcome: 'applied' | 'rejected', n: number): void;
    /** a scheduled export's job ended, counted by the process that ran it */
    scheduledExport(outcome: 'sent' | 'nothing_pending' | 'failed'): void;
  };
  /**
   * The batch exchange's state, read from Redis at scrape time (shared by every instance, kept
   * across restarts): settings files sent without an answer in time, and when the last TERMSTAT
   * snapshot was imported (epoch ms; null before the first: the gauge is 0, so the alert fires),
   * when the last scheduled export succeeded (epoch ms; before the first, when its schedule was
   * first registered). Small reads (the open files; the latest import runs; one hash).
   */
  watchBatch(sources: {
    overdueFiles?: () => Promise<number>;
    snapshotLastImportedAt?: () => Promise<number | null>;
    scheduledExportLastSucceededAt?: () => Promise<number | null>;
  }): void;
  render(): Promise<string>;
  /** TERMSTAT snapshot import counters (labels: statuses only) */
  termstat: {
    recordsImported(n: number): void;
    corruptFile(): void;
    statusChanges(from: string, to: string, n: number): void;
  };
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'lgw_' });

  const requests = new Histogram({
    name: 'lgw_http_request_duration_seconds',
    help: 'HTTP requests by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const transitions = new Counter({
    name: 'lgw_circuit_transitions_total',
    help: 'Circuit breaker state changes per legacy system',
    labelNames: ['system', 'to'] as const,
    registers: [registry],
  });
  let source: CircuitStatusPort | undefined;
  new Gauge({
    name: 'lgw_circuit_state',
    help: 'Circuit breaker state per legacy system: 0 closed, 1 half-open, 2 open',
    labelNames: ['system'] as const,
    registers: [registry],
    collect() {
      for (const c of source?.circuits() ?? []) this.set({ system: c.system }, STATE_VALUE[c.state]);
    },
  });
  new Gauge({
    name: 'lgw_legacy_calls_window',
    help: 'Legacy calls in the breaker rolling window by outcome',
    labelNames: ['system', 'outcome'] as const,
    registers: [registry],
    collect() {
      for (const c of source?.circuits() ?? []) {
        for (const [outcome, n] of Object.entries(c.stats)) this.set({ system: c.system, outcome }, n);
      }
    },
  });
  new Gauge({
    name: 'lgw_legacy_bulkhead',
    help: 'Legacy calls in flight and queued per system',
    labelNames: ['system', 'slot'] as const,
    registers: [registry],
    collect() {
      for (const c of source?.circuits() ?? []) {
        this.set({ system: c.system, slot: 'active' }, c.bulkhead.active);
        this.set({ system: c.system, slot: 'queued' }, c.bulkhead.queued);
      }
    },
  });

  // prom-client hashes the label object on every observe; the child for a (method, route,
  // status) triple is looked up once and kept. Bounded: methods come from clients. Kept by
  // route, then method, then status: the route template and the method are the same strings
  // request after request (their hashes are cached), where a key built from the three was a new
  // string to hash on every request (issue 8).
  type Child = ReturnType<typeof requests.labels>;
  const children = new Map<string, Map<string, Map<number, Child>>>();
  let cachedSeries = 0;
  const childFor = (method: string, route: string, status: number): Child => {
    let byMethod = children.get(route);
    let byStatus = byMethod?.get(method);
    const known = byStatus?.get(status);
    if (known !== undefined) return known;
    const child = requests.labels(method, route, String(status));
    if (cachedSeries < MAX_CACHED_SERIES) {
      if (byMethod === undefined) children.set(route, (byMethod = new Map()));
      if (byStatus === undefined) byMethod.set(method, (byStatus = new Map()));
      byStatus.set(status, child);
      cachedSeries += 1;
    }
    return child;
  };
  const termstatRecords = new Counter({
    name: 'lgw_termstat_records_imported_total',
    help: 'TERMSTAT snapshot records applied to the terminal read model',
    registers: [registry],
  });
  const termstatCorrupt = new Counter({
    name: 'lgw_termstat_corrupt_files_total',
    help: 'TERMSTAT snapshot files refused as corrupt (nothing applied)',
    registers: [registry],
  });
  const termstatChanges = new Counter({
    name: 'lgw_termstat_status_changes_total',
    help: 'Terminal status changes found between consecutive snapshots, by from and to status',
    labelNames: ['from', 'to'] as const,
    registers: [registry],
  });
  const batchFiles = new Counter({
    name: 'lgw_batch_files_sent_total',
    help: 'Settings files (TPU) renamed into TMO\'s inbox',
    registers: [registry],
  });
  const batchAnswers = new Counter({
    name: 'lgw_batch_answers_total',
    help: 'Answers to settings files by kind: ack, nak (whole file refused), dup (name reused), invalid (unreadable)',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const batchRecords = new Counter({
    name: 'lgw_batch_records_total',
    help: 'Settings changes TMO answered, by outcome (applied, rejected)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });

  const SCHEDULED_EXPORT_OUTCOMES = ['sent', 'nothing_pending', 'failed'] as const;
  const scheduledExports = new Counter({
    name: 'lgw_batch_scheduled_exports_total',
    help: 'Scheduled settings exports (the nightly tick) by outcome: sent, nothing_pending, failed (busy past its wait, shut down while waiting, SFTP or Redis error); one per tick, counted by the process that ran it',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  // every outcome at 0 from the start: increase() then sees a process's first failure
  for (const outcome of SCHEDULED_EXPORT_OUTCOMES) scheduledExports.inc({ outcome }, 0);

  let batchSources: Parameters<Metrics['watchBatch']>[0] = {};
  // a failed read keeps the gauge's last value (prom-client keeps what was set)
  const readOrKeep = async (read: () => Promise<number>): Promise<number | undefined> => read().catch(() => undefined);
  /** A gauge read from one of the batch sources at scrape time (no source: not set). */
  const batchGauge = (name: string, help: string, read: () => (() => Promise<number>) | undefined) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const source = read();
        if (!source) return;
        const value = await readOrKeep(source);
        if (value !== undefined) this.set(value);
      },
    });
  /** epoch ms (null: 0) as Unix seconds */
  const seconds = (read: (() => Promise<number | null>) | undefined) => (read ? async () => ((await read()) ?? 0) / 1000 : undefined);
  batchGauge(
    'lgw_batch_answer_overdue_files',
    'Settings files (TPU) sent to TMO with no ACK/NAK after BATCH_ANSWER_OVERDUE_MS (shared by every instance on one Redis)',
    () => batchSources.overdueFiles,
  );
  batchGauge(
    'lgw_batch_snapshot_last_imported_timestamp_seconds',
    'When the last TERMSTAT snapshot was imported (Unix seconds; 0 before the first import); shared by every instance on one Redis',
    () => seconds(batchSources.snapshotLastImportedAt),
  );
  batchGauge(
    'lgw_batch_scheduled_export_last_success_timestamp_seconds',
    'When the last scheduled settings export succeeded, sent or nothing pending (Unix seconds; before the first, when the export schedule was first registered; 0 when neither is known); shared by every instance on one Redis',
    () => seconds(batchSources.scheduledExportLastSucceededAt),
  );

  const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed'] as const;
  let queues: readonly Queue[] = [];
  let countOpen: (() => Promise<number>) | undefined;
  let openCache: { at: number; value: number } | undefined;
  let ping: (() => Promise<boolean>) | undefined;
  new Gauge({
    name: 'lgw_queue_jobs',
    help: 'Jobs per operation queue and state (shared by every instance on one Redis)',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      await Promise.all(
        queues.map(async (q) => {
          const counts = await q.getJobCounts(...QUEUE_STATES).catch(() => null);
          if (counts) for (const s of QUEUE_STATES) this.set({ queue: q.name, state: s }, counts[s] ?? 0);
        }),
      );
    },
  });
  new Gauge({
    name: 'lgw_queue_oldest_job_age_seconds',
    help: 'Age of the oldest job still waiting to run (waiting, prioritized or delayed for a retry) per queue; 0 when none',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      const now = Date.now();
      await Promise.all(
        queues.map(async (q) => {
          const oldest = await Promise.all(
            (['wait', 'prioritized', 'delayed'] as const).map((t) => q.getJobs([t], 0, 0, true).then((js) => js[0]?.timestamp, () => undefined)),
          );
          const ts = oldest.filter((t): t is number => typeof t === 'number');
          this.set({ queue: q.name }, ts.length === 0 ? 0 : Math.max(0, (now - Math.min(...ts)) / 1000));
        }),
      );
    },
  });
  const attemptsFailed = new Counter({
    name: 'lgw_job_attempts_failed_total',
    help: 'Failed job attempts per legacy system: outcome retry (BullMQ retries it) or final (dead-lettered)',
    labelNames: ['system', 'outcome'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'lgw_dead_letters_open',
    help: 'Dead letters waiting for an operator (shared by every instance on one Redis)',
    registers: [registry],
    async collect() {
      if (!countOpen) return;
      const now = Date.now();
      if (!openCache || now - openCache.at > 30_000) {
        const value = await countOpen().catch(() => openCache?.value);
        if (value !== undefined) openCache = { at: now, value };
      }
      if (openCache) this.set(openCache.value);
    },
  });
  const idempotency = new Counter({
    name: 'lgw_idempotency_requests_total',
    help: 'Requests that reused an Idempotency-Key: replayed (stored answer), reused (different request, 422), in_progress (409)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: 'lgw_rate_limited_total',
    help: 'Requests refused with 429 by the inbound rate limits, per route group (read, write, ops-read, ops-write)',
    labelNames: ['group'] as const,
    registers: [registry],
  });
  const rateLimitFallback = new Counter({
    name: 'lgw_rate_limit_fallback_total',
    help: 'Rate limit checks counted in process memory because Redis failed (the limit is then per instance, not shared)',
    registers: [registry],
  });
  new Gauge({
    name: 'lgw_redis_up',
    help: '1 when Redis answered PING at scrape time, else 0',
    registers: [registry],
    async collect() {
      if (!ping) return;
      this.set((await ping().catch(() => false)) ? 1 : 0);
    },
  });

  return {
    contentType: registry.contentType,
    termstat: {
      recordsImported: (n) => termstatRecords.inc(n),
      corruptFile: () => termstatCorrupt.inc(),
      statusChanges: (from, to, n) => termstatChanges.inc({ from, to }, n),
    },
    batch: {
      fileSent: () => batchFiles.inc(),
      answer: (kind) => batchAnswers.inc({ kind }),
      records: (outcome, n) => batchRecords.inc({ outcome }, n),
      scheduledExport: (outcome) => scheduledExports.inc({ outcome }),
    },
    http: async function httpMetrics(c, next) {
      const start = performance.now();
      await next();
      // `routePath` maps every matched route into a new array per call: read it once (issue 8)
      const path = c.req.routePath;
      const route = path && path !== '*' && path !== '/*' ? path : 'unmatched';
      childFor(c.req.method, route, c.res.status).observe((performance.now() - start) / 1000);
    },
    circuitTransition(system, to) {
      transitions.inc({ system, to });
    },
    watchCircuits(circuits) {
      source = circuits;
    },
    watchQueues(q) {
      queues = q;
    },
    watchDeadLetters(fn) {
      countOpen = fn;
    },
    watchRedis(fn) {
      ping = fn;
    },
    jobAttemptFailed(system, final) {
      attemptsFailed.inc({ system, outcome: final ? 'final' : 'retry' });
    },
    idempotencyOutcome(outcome) {
      idempotency.inc({ outcome });
    },
    rateLimit: {
      limited: (group) => rateLimited.inc({ group }),
      fallback: () => rateLimitFallback.inc(),
    },
    watchBatch(sources) {
      batchSources = sources;
    },
    render: () => registry.metrics(),
  };
}
