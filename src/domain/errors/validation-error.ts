import { GatewayError, type GatewayErrorOptions } from './gateway-error.ts';

export class ValidationError extends GatewayError {
  readonly kind = 'validation' as const;

  constructor(code: string, message: string, options: GatewayErrorOptions = {}) {
    super(code, message, false, options);
  }
}
