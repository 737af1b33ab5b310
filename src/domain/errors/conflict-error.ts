import { GatewayError, type GatewayErrorOptions } from './gateway-error.ts';

export class ConflictError extends GatewayError {
  readonly kind = 'conflict' as const;

  constructor(code: string, message: string, options: GatewayErrorOptions = {}) {
    super(code, message, false, options);
  }
}
