// CONTRACT.md § CRM: CRM-400 names the invalid field in `Text`; CRM-409 holds the existing
// CustId in `Text`. Only the clean field name / the id leave here, never the text.
import { contractViolation } from '../common/violation.ts';

/** CRM request field → clean field path. */
export const CRM_FIELD_TO_CLEAN: Readonly<Record<string, string>> = {
  CustName: 'name',
  VatNo: 'vatNumber',
  FiscalCd: 'taxCode',
  Segment: 'segment',
  Email: 'email',
  Phone: 'phone',
  Street: 'address.line1',
  City: 'address.city',
  PostCode: 'address.postalCode',
  Province: 'address.province',
  Country: 'address.country',
  Iban: 'iban',
  PartnerId: 'partnerId',
  CustId: 'id',
  PageNo: 'page',
  PageSize: 'pageSize',
  System: 'system',
  Value: 'value',
};

const NAMES = Object.keys(CRM_FIELD_TO_CLEAN).sort((a, b) => b.length - a.length);
const FIELD_IN_TEXT = new RegExp(`(?<![A-Za-z0-9_])(${NAMES.join('|')})(?![A-Za-z0-9_])`);

/** The clean name of the CRM field a CRM-400 `Text` names, or null when it names none we know. */
export function cleanFieldFromCrmText(text: string): string | null {
  const m = FIELD_IN_TEXT.exec(text);
  return m?.[1] === undefined ? null : (CRM_FIELD_TO_CLEAN[m[1]] ?? null);
}

/** The existing CustId inside a CRM-409 `Text`. Absent → TranslationError. */
export function existingCustIdFromText(text: string): string {
  const m = /(?<![A-Za-z0-9])(C\d{9})(?!\d)/.exec(text);
  if (m?.[1] === undefined) throw contractViolation('crm', 'CrmError.Text', 'no existing CustId');
  return m[1];
}
