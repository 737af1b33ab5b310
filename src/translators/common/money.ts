// CONTRACT.md § TMO field conventions: amounts in euro cents as digit strings (BATCH.md uses
// them zero-padded to a fixed width).
import { ValidationError } from '../../domain/errors/index.ts';
import type { Money } from '../../domain/model.ts';
import { contractViolation } from './violation.ts';

/**
 * Money → TMO digit string of euro cents. `width` zero-pads for fixed-width files. Negative,
 * fractional or non-EUR amounts, or ones too wide for `width`, are the caller's error.
 */
export function toTmoAmount(money: Money, width?: number, field = 'amount'): string {
  if (money.currency !== 'EUR' || !Number.isSafeInteger(money.amount) || money.amount < 0) {
    throw new ValidationError('money.invalid', `${field} must be a non-negative integer amount of euro cents`, {
      fields: [{ field, reason: 'must be a non-negative integer amount of euro cents' }],
    });
  }
  const digits = String(money.amount);
  if (width === undefined) return digits;
  if (digits.length > width) {
    throw new ValidationError('money.too_large', `${field} does not fit ${width} digits`, {
      fields: [{ field, reason: `must fit ${width} digits` }],
    });
  }
  return digits.padStart(width, '0');
}

/** TMO digit string of euro cents → Money; `''` → null; anything else → TranslationError. */
export function fromTmoAmount(value: string, field = 'amount'): Money | null {
  if (value === '') return null;
  if (!/^\d+$/.test(value)) throw contractViolation('tmo', field, 'an invalid amount');
  const amount = Number(value);
  if (!Number.isSafeInteger(amount)) throw contractViolation('tmo', field, 'an amount out of range');
  return { amount, currency: 'EUR' };
}
