/** Per-call context every port method takes: the request id travels to the legacy systems. */
export interface CallContext {
  requestId: string;
  /** Aborts the legacy call (e.g. client went away, shutdown). */
  signal?: AbortSignal;
}
