// CONTRACT.md § TMO Identifiers (MID, TID) and § CRM Identifiers (CustId). Pure validators
// the API layer imports to reject malformed ids before any legacy call.

/** TMO merchant id: exactly 15 digits, zero-padded. */
export const TMO_MERCHANT_ID_PATTERN = /^\d{15}$/;
/** TMO terminal id: exactly 8 characters [A-Z0-9]. */
export const TERMINAL_ID_PATTERN = /^[A-Z0-9]{8}$/;
/** CRM customer id (merchants and partners): `C` followed by 9 digits. */
export const CUSTOMER_ID_PATTERN = /^C\d{9}$/;

/** True for a TMO merchant id (MID): 15 digits. */
export function isTmoMerchantId(value: unknown): value is string {
  return typeof value === 'string' && TMO_MERCHANT_ID_PATTERN.test(value);
}

/** True for a TMO terminal id (TID): 8 characters [A-Z0-9]. */
export function isTerminalId(value: unknown): value is string {
  return typeof value === 'string' && TERMINAL_ID_PATTERN.test(value);
}

/** True for a CRM customer id (CustId): `C` + 9 digits. Merchant and partner ids are CustIds. */
export function isCustomerId(value: unknown): value is string {
  return typeof value === 'string' && CUSTOMER_ID_PATTERN.test(value);
}
