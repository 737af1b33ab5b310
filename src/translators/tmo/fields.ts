// CONTRACT.md § TMO operations: request field names, mapped to the clean names the API
// uses in `errors[].field` (E101 names the legacy field in RETURN_MSG).
import { contractViolation } from '../common/violation.ts';

/** TMO request field → clean field path. */
export const TMO_FIELD_TO_CLEAN: Readonly<Record<string, string>> = {
  VAT_NO: 'vatNumber',
  MERCH_NAME: 'name',
  MCC: 'mcc',
  ADDR_LINE: 'address.line1',
  CITY: 'address.city',
  ZIP: 'address.postalCode',
  PROV: 'address.province',
  COUNTRY: 'address.country',
  CRM_REF: 'customerId',
  MID: 'tmoMerchantId',
  MODEL: 'model',
  CONTACTLESS: 'contactless',
  CURRENCY: 'currency',
  SHIP_ADDR_LINE: 'shippingAddress.line1',
  SHIP_CITY: 'shippingAddress.city',
  SHIP_ZIP: 'shippingAddress.postalCode',
  SHIP_PROV: 'shippingAddress.province',
  TID: 'terminalId',
  NEW_STATUS: 'status',
  REASON_CODE: 'reason',
  PAGE_NO: 'page',
  PAGE_SIZE: 'pageSize',
};

// Longest names first so `SHIP_ADDR_LINE` wins over `ADDR_LINE`.
const NAMES = Object.keys(TMO_FIELD_TO_CLEAN).sort((a, b) => b.length - a.length);
const FIELD_IN_TEXT = new RegExp(`(?<![A-Z0-9_])(${NAMES.join('|')})(?![A-Z0-9_])`);

/**
 * The clean name of the TMO field a RETURN_MSG (E101) names, or null when it names none we
 * know. Only the field name leaves here; the message text itself is never passed on.
 */
export function cleanFieldFromTmoMessage(message: string): string | null {
  const m = FIELD_IN_TEXT.exec(message.toUpperCase());
  return m?.[1] === undefined ? null : (TMO_FIELD_TO_CLEAN[m[1]] ?? null);
}

/**
 * The existing MID inside an E301 RETURN_MSG (15 digits). NODE-SOAP-NOTES.md: on E301 the
 * id is only in the text, never in the MID field. Absent → TranslationError.
 */
export function existingMidFromMessage(message: string): string {
  const m = /(?<!\d)(\d{15})(?!\d)/.exec(message);
  if (m?.[1] === undefined) throw contractViolation('tmo', 'RETURN_MSG', 'no existing MID');
  return m[1];
}
