import { GatewayError, type GatewayErrorOptions } from './gateway-error.ts';

export class TranslationError extends GatewayError {
  readonly kind = 'translation' as const;

  constructor(code: string, message: string, options: GatewayErrorOptions = {}) {
    super(code, message, false, options);
  }
}
