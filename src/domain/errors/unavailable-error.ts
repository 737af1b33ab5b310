import { GatewayError, type GatewayErrorOptions } from './gateway-error.ts';

export class UnavailableError extends GatewayError {
  readonly kind = 'unavailable' as const;

  constructor(code: string, message: string, options: GatewayErrorOptions = {}) {
    super(code, message, true, options);
  }
}
