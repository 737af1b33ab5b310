/** What operations and readiness see of a legacy system's circuit breaker. */
export type CircuitState = 'closed' | 'open' | 'half_open';

export interface CircuitSnapshot {
  system: string;
  state: CircuitState;
  /** ISO instant of the last state change, null if never changed since start */
  lastTransitionAt: string | null;
  stats: { successes: number; failures: number; timeouts: number; rejects: number; fires: number };
  /** concurrency limit and calls in flight */
  bulkhead: { limit: number; active: number; queued: number };
}

export interface CircuitStatusPort {
  circuits(): CircuitSnapshot[];
}
