import { GatewayError, type GatewayErrorOptions } from './gateway-error.ts';

export class NotFoundError extends GatewayError {
  readonly kind = 'not_found' as const;

  constructor(code: string, message: string, options: GatewayErrorOptions = {}) {
    super(code, message, false, options);
  }
}
