import type { LegacySystem, StoredError } from '../types.ts';

/**
 * Thrown by the processor so BullMQ schedules a retry with our backoff strategy. Its message
 * is the sanitized stored error (BullMQ keeps `failedReason` in Redis), and `system` tells the
 * backoff strategy which row of the retry table applies. Checked by `name`/`code`, never by
 * `instanceof`: BullMQ hands errors around as data.
 */
export class RetryableOperationError extends Error {
  static readonly CODE = 'operation.retry_scheduled';
  readonly code = RetryableOperationError.CODE;
  readonly system: LegacySystem;
  readonly errorCode: string;
  /** failed runs on `system` so far, inline run included: the backoff strategy's attempt number */
  readonly failures: number | undefined;

  constructor(error: StoredError, system: LegacySystem, failures?: number) {
    super(`${error.code}: ${error.message}`);
    this.name = 'RetryableOperationError';
    this.system = system;
    this.errorCode = error.code;
    this.failures = failures;
  }
}
