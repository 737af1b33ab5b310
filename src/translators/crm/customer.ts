// CONTRACT.md § CRM operations `CreateCustomer`, `GetCustomer`, `UpdateCustomer`,
// `SearchCustomers`, `AddExternalRef` and § CRM field conventions. Mappers copy the listed
// fields only; `Iban` leaves this module masked, whatever CRM sends.
import type { Customer, CustomerPatch, CustomerSearch, NewCustomer } from '../../domain/model.ts';
import { fromCrmDate } from '../common/dates.ts';
import { isCustomerId } from '../common/ids.ts';
import { toMaskedIban } from '../common/iban.ts';
import { listItems } from '../common/lists.ts';
import { asRecord, optionalText, text } from '../common/records.ts';
import { contractViolation } from '../common/violation.ts';
import { fromCrmSegment, toCrmSegment } from './codes.ts';

/** `CustomerData` fields in WSDL order. `''` = no value / unchanged. */
export type CrmCustomerData = {
  CustName: string;
  VatNo: string;
  FiscalCd: string;
  Segment: string;
  Email: string;
  Phone: string;
  Street: string;
  City: string;
  PostCode: string;
  Province: string;
  Country: string;
  Iban: string;
  PartnerId: string;
};

/** The system name CRM uses for TMO in `ExternalRefs`. */
export const CRM_TMO_SYSTEM = 'TMO';

/** New customer → `CreateCustomer` `Customer` (UTF-8 is fine for CRM; `Iban` in clear: never log it). */
export function toCrmNewCustomer(c: NewCustomer): { Customer: CrmCustomerData } {
  return {
    Customer: {
      CustName: c.name,
      VatNo: c.vatNumber,
      FiscalCd: c.taxCode,
      Segment: toCrmSegment(c.segment),
      Email: c.email ?? '',
      Phone: c.phone ?? '',
      Street: c.address.line1,
      City: c.address.city,
      PostCode: c.address.postalCode,
      Province: c.address.province,
      Country: c.address.country,
      Iban: c.iban ?? '',
      PartnerId: c.partnerId ?? '',
    },
  };
}

/**
 * Patch → `UpdateCustomer` fields. CRM changes only non-empty fields, so every absent field
 * is sent as `''` (never omitted, never nil); CRM cannot clear a field.
 */
export function toCrmUpdateCustomer(id: string, p: CustomerPatch): { CustId: string; Customer: CrmCustomerData } {
  return {
    CustId: id,
    Customer: {
      CustName: p.name ?? '',
      VatNo: '',
      FiscalCd: '',
      Segment: '',
      Email: p.email ?? '',
      Phone: p.phone ?? '',
      Street: p.address?.line1 ?? '',
      City: p.address?.city ?? '',
      PostCode: p.address?.postalCode ?? '',
      Province: p.address?.province ?? '',
      Country: p.address?.country ?? '',
      Iban: p.iban ?? '',
      PartnerId: p.partnerId ?? '',
    },
  };
}

/** `GetCustomer` request fields. */
export function toCrmGetCustomer(id: string): { CustId: string } {
  return { CustId: id };
}

/** `SearchCustomers` request fields (`''` = no filter). */
export function toCrmSearchCustomers(s: CustomerSearch): {
  PartnerId: string;
  Segment: string;
  PageNo: string;
  PageSize: string;
} {
  return {
    PartnerId: s.partnerId ?? '',
    Segment: s.segment === null ? '' : toCrmSegment(s.segment),
    PageNo: String(s.page),
    PageSize: String(s.pageSize),
  };
}

/** `AddExternalRef` request fields. */
export function toCrmAddExternalRef(id: string, system: string, value: string): { CustId: string; System: string; Value: string } {
  return { CustId: id, System: system, Value: value };
}

/** A CustId CRM sent: must be `C` + 9 digits. */
export function fromCrmCustId(value: string, field = 'CustId'): string {
  if (!isCustomerId(value)) throw contractViolation('crm', field, 'an invalid customer id');
  return value;
}

/** The TMO MID among `ExternalRefs` (System `TMO`), or null. */
export function tmoMerchantIdFromRefs(refs: unknown): string | null {
  for (const item of listItems<unknown>(refs, 'Ref')) {
    const ref = asRecord(item, 'crm', 'ExternalRefs.Ref');
    if (text(ref, 'System', 'crm') === CRM_TMO_SYSTEM) {
      const value = text(ref, 'Value', 'crm');
      if (value !== '') return value;
    }
  }
  return null;
}

/** `Customer` record (GetCustomer / SearchCustomers) → Customer. */
export function fromCrmCustomer(value: unknown): Customer {
  const rec = asRecord(value, 'crm', 'Customer');
  const partnerId = optionalText(rec, 'PartnerId', 'crm');
  return {
    id: fromCrmCustId(text(rec, 'CustId', 'crm')),
    name: text(rec, 'CustName', 'crm'),
    vatNumber: text(rec, 'VatNo', 'crm'),
    taxCode: text(rec, 'FiscalCd', 'crm'),
    segment: fromCrmSegment(text(rec, 'Segment', 'crm')),
    email: optionalText(rec, 'Email', 'crm'),
    phone: optionalText(rec, 'Phone', 'crm'),
    address: {
      line1: text(rec, 'Street', 'crm'),
      city: text(rec, 'City', 'crm'),
      postalCode: text(rec, 'PostCode', 'crm'),
      province: text(rec, 'Province', 'crm'),
      country: text(rec, 'Country', 'crm'),
    },
    ibanMasked: toMaskedIban(text(rec, 'Iban', 'crm')),
    partnerId: partnerId === null ? null : fromCrmCustId(partnerId, 'PartnerId'),
    createdAt: fromCrmDate(text(rec, 'CreatedOn', 'crm'), 'CreatedOn'),
    tmoMerchantId: tmoMerchantIdFromRefs(rec.ExternalRefs),
  };
}
