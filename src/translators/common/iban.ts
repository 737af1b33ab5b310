// CONTRACT.md § CRM: `Iban` is sensitive; GetCustomer returns it masked as
// `IT**************1234`. Defence in depth: whatever CRM sends, only a masked form leaves here.

import { isMaskedIban, maskIban } from '../../domain/iban.ts';

export { isMaskedIban, maskIban };

/**
 * The IBAN as the clean model may show it: `''` → null, an already masked value unchanged,
 * anything else (e.g. a clear IBAN CRM should never have sent) masked here, never passed through.
 */
export function toMaskedIban(value: string): string | null {
  return value === '' ? null : maskIban(value);
}
