import { isValidIban } from '../../domain/iban.ts';

/**
 * Defence in depth for stored responses: true when `text` holds something that is a valid
 * IBAN in clear (ISO 13616 shape and mod-97 check, with or without the usual 4-char
 * grouping). Masked values (`IT**************1234`) never match. The mod-97 check keeps
 * ids such as MIDs or CRM customer ids from being taken for an IBAN.
 */
export function containsClearIban(text: string): boolean {
  const upper = text.toUpperCase();
  // Country + check digits, then 11–30 alphanumerics, optionally grouped by single spaces.
  const candidates = upper.match(/\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g) ?? [];
  for (const candidate of candidates) {
    const compact = candidate.replace(/ /g, '');
    // A candidate may have swallowed trailing words ("IT60X… ABC"); try every length.
    for (let len = compact.length; len >= 15; len--) {
      if (isValidIban(compact.slice(0, len))) return true;
    }
  }
  return false;
}

export { isValidIban };
