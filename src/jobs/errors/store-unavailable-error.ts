import { GatewayError, type GatewayErrorOptions } from '../../domain/errors/index.ts';

/**
 * The operation's bookkeeping (Redis) could not be read or written. Retryable and of kind
 * `unavailable`: before the operation is durable the API answers 503 (nothing was accepted);
 * during a run it is one more failed attempt, resumed later from the stored steps. Never counts
 * toward a legacy breaker (it is not thrown by an adapter).
 */
export class StoreUnavailableError extends GatewayError {
  static readonly CODE = 'operation.store_unavailable';
  readonly kind = 'unavailable' as const;

  constructor(message = 'The operation store is unavailable', options: GatewayErrorOptions = {}) {
    super(StoreUnavailableError.CODE, message, true, options);
  }
}

/** Wraps a store failure (ioredis errors carry the command and its arguments: never keep them). */
export function storeUnavailable(err: unknown): StoreUnavailableError {
  if (err instanceof StoreUnavailableError) return err;
  const name = err instanceof Error ? err.name : 'unknown';
  return new StoreUnavailableError(`The operation store is unavailable (${name})`);
}
