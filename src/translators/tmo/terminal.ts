// CONTRACT.md § TMO operations `OrderTerminal`, `GetTerminal`, `ListTerminals`,
// `ChangeTerminalStatus` and § TMO field conventions. Mappers copy the listed fields only.
import type {
  StatusChangeReason,
  TargetTerminalStatus,
  Terminal,
  TerminalOrder,
} from '../../domain/model.ts';
import { fromTmoDateTime } from '../common/dates.ts';
import { fromYesNo, toYesNo } from '../common/flags.ts';
import { isTerminalId } from '../common/ids.ts';
import { asRecord, optionalText, text } from '../common/records.ts';
import { TMO_MAX, toTmoCode, toTmoText } from '../common/text.ts';
import { contractViolation } from '../common/violation.ts';
import { fromTmoCurrency, fromTmoModel, fromTmoStatus, toTmoNewStatus, toTmoReason } from './codes.ts';
import { fromTmoMid } from './merchant.ts';

/** `OrderTerminal` request fields, in WSDL order. */
export type TmoOrderTerminalRequest = {
  MID: string;
  MODEL: string;
  CONTACTLESS: string;
  CURRENCY: string;
  SHIP_ADDR_LINE: string;
  SHIP_CITY: string;
  SHIP_ZIP: string;
  SHIP_PROV: string;
};

/** Clean order → `OrderTerminal` fields. TMO has no shipping country: it is not sent. */
export function toTmoOrderTerminal(tmoMerchantId: string, order: TerminalOrder): TmoOrderTerminalRequest {
  return {
    MID: tmoMerchantId,
    MODEL: order.model,
    CONTACTLESS: toYesNo(order.contactless),
    CURRENCY: order.currency,
    SHIP_ADDR_LINE: toTmoText(order.shippingAddress.line1, TMO_MAX.addressLine),
    SHIP_CITY: toTmoText(order.shippingAddress.city, TMO_MAX.city),
    SHIP_ZIP: toTmoCode(order.shippingAddress.postalCode),
    SHIP_PROV: toTmoCode(order.shippingAddress.province),
  };
}

/** `GetTerminal` request fields. */
export function toTmoGetTerminal(terminalId: string): { TID: string } {
  return { TID: terminalId };
}

/** `ListTerminals` request fields (page 1-based, size 1–50, sent as digit strings). */
export function toTmoListTerminals(
  tmoMerchantId: string,
  page: number,
  pageSize: number,
): { MID: string; PAGE_NO: string; PAGE_SIZE: string } {
  return { MID: tmoMerchantId, PAGE_NO: String(page), PAGE_SIZE: String(pageSize) };
}

/** `ChangeTerminalStatus` request fields. */
export function toTmoChangeTerminalStatus(
  terminalId: string,
  status: TargetTerminalStatus,
  reason: StatusChangeReason,
): { TID: string; NEW_STATUS: string; REASON_CODE: string } {
  return { TID: terminalId, NEW_STATUS: toTmoNewStatus(status), REASON_CODE: toTmoReason(reason) };
}

/** A TID TMO sent: must be 8 characters [A-Z0-9]. */
export function fromTmoTid(value: string, field = 'TID'): string {
  if (!isTerminalId(value)) throw contractViolation('tmo', field, 'an invalid TID');
  return value;
}

/**
 * `TERMINAL` record → Terminal. `LAST_SEEN_DATE`/`LAST_SEEN_TIME` are wall clock in
 * `timeZone` (the contract does not say which; the gateway default is `Europe/Rome`).
 */
export function fromTmoTerminal(value: unknown, timeZone: string): Terminal {
  const rec = asRecord(value, 'tmo', 'TERMINAL');
  return {
    id: fromTmoTid(text(rec, 'TID', 'tmo')),
    tmoMerchantId: fromTmoMid(text(rec, 'MID', 'tmo')),
    model: fromTmoModel(text(rec, 'MODEL', 'tmo')),
    serialNumber: optionalText(rec, 'SERIAL_NO', 'tmo'),
    status: fromTmoStatus(text(rec, 'STATUS', 'tmo')),
    contactless: fromYesNo(text(rec, 'CONTACTLESS', 'tmo'), 'tmo', 'CONTACTLESS'),
    currency: fromTmoCurrency(text(rec, 'CURRENCY', 'tmo')),
    lastSeenAt: fromTmoDateTime(text(rec, 'LAST_SEEN_DATE', 'tmo'), text(rec, 'LAST_SEEN_TIME', 'tmo'), timeZone),
  };
}
