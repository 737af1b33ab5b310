import { GatewayError, type GatewayErrorOptions } from './gateway-error.ts';

export class BusinessError extends GatewayError {
  readonly kind = 'business' as const;

  constructor(code: string, message: string, options: GatewayErrorOptions = {}) {
    super(code, message, false, options);
  }
}
