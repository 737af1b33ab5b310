// CONTRACT.md § TMO field conventions and § CRM field conventions: flags are `Y`/`N`.
import { contractViolation, type LegacySystem } from './violation.ts';

/** boolean → `Y`/`N`. */
export function toYesNo(value: boolean): 'Y' | 'N' {
  return value ? 'Y' : 'N';
}

/** `Y`/`N` → boolean; anything else (empty included) → TranslationError `<system>.contract_violation`. */
export function fromYesNo(value: string, system: LegacySystem, field: string): boolean {
  if (value === 'Y') return true;
  if (value === 'N') return false;
  throw contractViolation(system, field, 'an invalid flag');
}
