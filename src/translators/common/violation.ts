// CONTRACT.md § Common rules: when a legacy system breaks its own contract the gateway
// answers 502 (`translation`) and alerts. Messages name the field, never the value: legacy
// text may hold personal or payment data.
import { TranslationError } from '../../domain/errors/index.ts';

/** Legacy systems the translators know. */
export type LegacySystem = 'tmo' | 'crm';

const LABEL: Record<LegacySystem, string> = { tmo: 'TMO', crm: 'CRM' };

/** A TranslationError `<system>.contract_violation` naming the offending legacy field (never its value). */
export function contractViolation(system: LegacySystem, field: string, what = 'an invalid value'): TranslationError {
  return new TranslationError(`${system}.contract_violation`, `${LABEL[system]} sent ${what} in ${field}`, { system });
}
