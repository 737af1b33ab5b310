import { GatewayError, type GatewayErrorOptions } from './gateway-error.ts';

export class TimeoutError extends GatewayError {
  readonly kind = 'timeout' as const;

  constructor(code: string, message: string, options: GatewayErrorOptions = {}) {
    super(code, message, true, options);
  }
}
