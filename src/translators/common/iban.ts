// CONTRACT.md § CRM: `Iban` is sensitive; GetCustomer returns it masked as
// `IT**************1234`. Defence in depth: whatever CRM sends, only a masked form leaves here.

const MASKED = /^[A-Z]{2}\*{4,}[A-Z0-9]{4}$/;

/** True for an IBAN already masked the way CRM masks it (`IT**************1234`). */
export function isMaskedIban(value: string): boolean {
  return MASKED.test(value);
}

/**
 * Masks an IBAN the way CRM does: country code, 14 `*`, last 4 characters. Spaces are ignored.
 * Returns null when there are not enough characters to mask safely (then nothing is shown).
 */
export function maskIban(value: string): string | null {
  const compact = value.replace(/\s+/g, '').toUpperCase();
  if (!/^[A-Z0-9]{8,}$/.test(compact)) return null;
  return `${compact.slice(0, 2)}${'*'.repeat(14)}${compact.slice(-4)}`;
}

/**
 * The IBAN as the clean model may show it: `''` → null, an already masked value unchanged,
 * anything else (e.g. a clear IBAN CRM should never have sent) masked here, never passed through.
 */
export function toMaskedIban(value: string): string | null {
  if (value === '') return null;
  if (isMaskedIban(value)) return value;
  return maskIban(value);
}
