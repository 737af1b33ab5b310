/**
 * IBANs, the one piece of payment data the gateway handles: the checksum and the masked form
 * every layer shows (answers, logs, Redis, dead letters). The mask is the shape CRM returns
 * (CONTRACT.md § CRM: `IT**************1234`, country code + 14 stars + last 4), so a masked
 * value reads the same wherever it came from and does not reveal the IBAN's length.
 */

const COMPACT_IBAN = /^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/;
const MASKED = /^[A-Z]{2}\*{4,}[A-Z0-9]{4}$/;

/** ISO 13616 mod-97 check. Spaces are ignored, letters may be lower case. */
export function isValidIban(candidate: string): boolean {
  const s = candidate.replace(/\s+/g, '').toUpperCase();
  if (!COMPACT_IBAN.test(s)) return false;
  const rearranged = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const value = code >= 65 ? code - 55 : code - 48;
    rem = (value > 9 ? rem * 100 + value : rem * 10 + value) % 97;
  }
  return rem === 1;
}

/** True for an IBAN already masked (country code, stars, last 4), however many stars. */
export function isMaskedIban(value: string): boolean {
  return MASKED.test(value);
}

/** What `maskIban` shows of a value that is not IBAN-shaped: nothing, not even its length. */
export const MASKED_OTHER = '****';

/**
 * The one IBAN mask of the gateway: `IT60 X054 2811 1010 0000 0123 456` → `IT**************3456`,
 * always 14 stars whatever the IBAN's length. An already masked value (any number of stars)
 * gets the same shape; anything not IBAN-shaped → `****` (it may be another secret: showing
 * its ends or its length would leak it).
 */
export function maskIban(value: string): string {
  const compact = value.replace(/\s+/g, '').toUpperCase();
  if (!COMPACT_IBAN.test(compact) && !MASKED.test(compact)) return MASKED_OTHER;
  return `${compact.slice(0, 2)}${'*'.repeat(14)}${compact.slice(-4)}`;
}
