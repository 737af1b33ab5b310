// CONTRACT.md § TMO operations `RegisterMerchant` / `GetMerchant` and § TMO field
// conventions. Mappers copy the listed fields only.
import type { MerchantRegistration, TmoMerchant } from '../../domain/model.ts';
import { fromTmoDate } from '../common/dates.ts';
import { isCustomerId, isTmoMerchantId } from '../common/ids.ts';
import { asRecord, text } from '../common/records.ts';
import { TMO_MAX, toTmoCode, toTmoText } from '../common/text.ts';
import { contractViolation } from '../common/violation.ts';
import { fromTmoStatus } from './codes.ts';

/** `RegisterMerchant` request fields, in WSDL order. */
export type TmoRegisterMerchantRequest = {
  VAT_NO: string;
  MERCH_NAME: string;
  MCC: string;
  ADDR_LINE: string;
  CITY: string;
  ZIP: string;
  PROV: string;
  COUNTRY: string;
  CRM_REF: string;
};

/** Clean registration → `RegisterMerchant` fields (ASCII upper case, truncated to TMO maxima). */
export function toTmoRegisterMerchant(reg: MerchantRegistration): TmoRegisterMerchantRequest {
  return {
    VAT_NO: toTmoCode(reg.vatNumber),
    MERCH_NAME: toTmoText(reg.name, TMO_MAX.name),
    MCC: toTmoCode(reg.mcc),
    ADDR_LINE: toTmoText(reg.address.line1, TMO_MAX.addressLine),
    CITY: toTmoText(reg.address.city, TMO_MAX.city),
    ZIP: toTmoCode(reg.address.postalCode),
    PROV: toTmoCode(reg.address.province),
    COUNTRY: toTmoCode(reg.address.country),
    CRM_REF: toTmoText(reg.customerId, TMO_MAX.crmRef),
  };
}

/** `GetMerchant` request fields. */
export function toTmoGetMerchant(tmoMerchantId: string): { MID: string } {
  return { MID: tmoMerchantId };
}

/** A MID TMO sent: must be 15 digits. */
export function fromTmoMid(value: string, field = 'MID'): string {
  if (!isTmoMerchantId(value)) throw contractViolation('tmo', field, 'an invalid MID');
  return value;
}

/** `MERCHANT` record (GetMerchant) → TmoMerchant. */
export function fromTmoMerchant(value: unknown): TmoMerchant {
  const rec = asRecord(value, 'tmo', 'MERCHANT');
  const crmRef = text(rec, 'CRM_REF', 'tmo');
  if (!isCustomerId(crmRef)) throw contractViolation('tmo', 'CRM_REF', 'an invalid customer id');
  return {
    tmoMerchantId: fromTmoMid(text(rec, 'MID', 'tmo')),
    vatNumber: text(rec, 'VAT_NO', 'tmo'),
    name: text(rec, 'MERCH_NAME', 'tmo'),
    mcc: text(rec, 'MCC', 'tmo'),
    address: {
      line1: text(rec, 'ADDR_LINE', 'tmo'),
      city: text(rec, 'CITY', 'tmo'),
      postalCode: text(rec, 'ZIP', 'tmo'),
      province: text(rec, 'PROV', 'tmo'),
      country: text(rec, 'COUNTRY', 'tmo'),
    },
    customerId: crmRef,
    status: fromTmoStatus(text(rec, 'STATUS', 'tmo')),
    registeredAt: fromTmoDate(text(rec, 'REG_DATE', 'tmo'), 'REG_DATE'),
  };
}
