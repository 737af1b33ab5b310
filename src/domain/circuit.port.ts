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

/** A breaker's state alone: what a job reads before every call (no counters, no bulkhead). */
export type CircuitStateView = Pick<CircuitSnapshot, 'system' | 'state' | 'lastTransitionAt'>;

export interface CircuitStatusPort {
  /** Full snapshots (ops, readiness, metrics): counters summed over the breaker's rolling window. */
  circuits(): CircuitSnapshot[];
  /**
   * One system's state, matched case-insensitively on its name; undefined if unknown. Cheap: the
   * job path reads it for every job (issue 8), where a snapshot sums the rolling window's
   * counters of every breaker.
   */
  stateOf(system: string): CircuitStateView | undefined;
}
