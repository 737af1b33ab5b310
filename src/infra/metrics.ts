/**
 * Prometheus metrics (prom-client) on a private registry: HTTP requests by route template
 * (never the concrete path: ids would explode cardinality and may be sensitive), circuit
 * breaker state and rolling counts per legacy system, and the process defaults.
 * Labels carry no identifiers, IBANs or credentials.
 */
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
  /** Settings-file exchange counters (src/jobs/batch): kinds and outcomes only, never names or ids. */
  batch: {
    fileSent(): void;
    answer(kind: 'ack' | 'nak' | 'dup' | 'invalid'): void;
    records(outcome: 'applied' | 'rejected', n: number): void;
  };
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
  // status) triple is looked up once and kept. Bounded: methods come from clients.
  type Child = ReturnType<typeof requests.labels>;
  const children = new Map<string, Child>();
  const childFor = (method: string, route: string, status: number): Child => {
    const key = `${method} ${status} ${route}`;
    let child = children.get(key);
    if (child === undefined) {
      child = requests.labels(method, route, String(status));
      if (children.size < MAX_CACHED_SERIES) children.set(key, child);
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
    },
    http: async function httpMetrics(c, next) {
      const start = performance.now();
      await next();
      const route = c.req.routePath && c.req.routePath !== '*' && c.req.routePath !== '/*' ? c.req.routePath : 'unmatched';
      childFor(c.req.method, route, c.res.status).observe((performance.now() - start) / 1000);
    },
    circuitTransition(system, to) {
      transitions.inc({ system, to });
    },
    watchCircuits(circuits) {
      source = circuits;
    },
    render: () => registry.metrics(),
  };
}
