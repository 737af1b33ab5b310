/**
 * The runner learned that its operation lease is no longer its own (the renewal or a
 * token-checked progress write answered "not your token"): another runner took the operation
 * over (this one was presumed dead). The run stops before its next legacy call and writes
 * nothing more — no failure, no status, no dead letter: the new holder owns the record.
 * Checked by `name`/`code` (`isLeaseLost`), as errors may cross process boundaries.
 */
export class LeaseLostError extends Error {
  static readonly CODE = 'operation.lease_lost';
  readonly code = LeaseLostError.CODE;

  constructor(message = 'The operation lease was taken over by another runner') {
    super(message);
    this.name = 'LeaseLostError';
  }
}

export function isLeaseLost(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === LeaseLostError.CODE || (err as { name?: unknown } | null)?.name === 'LeaseLostError';
}
