import { GatewayError, type GatewayErrorOptions } from '../../domain/errors/index.ts';

/**
 * An accepted operation could not be applied within the retry policy's max age and had no
 * other error to report (e.g. it waited for an open breaker the whole time). Not retryable:
 * an operator decides from the dead letter.
 */
export class OperationExpiredError extends GatewayError {
  static readonly CODE = 'operation.expired';
  readonly kind = 'timeout' as const;

  constructor(message: string, options: GatewayErrorOptions = {}) {
    super(OperationExpiredError.CODE, message, false, options);
  }
}
