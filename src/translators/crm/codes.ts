// CONTRACT.md § CRM field conventions: `Segment` codes RET / CORP / PTN.
import type { CustomerSegment } from '../../domain/model.ts';
import { fromCode, invert } from '../common/records.ts';

/** CRM `Segment` → customer segment. */
export const CRM_SEGMENT: Readonly<Record<string, CustomerSegment>> = {
  RET: 'retail',
  CORP: 'corporate',
  PTN: 'partner',
};
const SEGMENT_TO_CRM = invert(CRM_SEGMENT as Record<'RET' | 'CORP' | 'PTN', CustomerSegment>);

/** `RET`/`CORP`/`PTN` → segment; unknown → TranslationError `crm.contract_violation`. */
export function fromCrmSegment(code: string, field = 'Segment'): CustomerSegment {
  return fromCode(CRM_SEGMENT, code, 'crm', field);
}

/** Segment → `RET`/`CORP`/`PTN`. */
export function toCrmSegment(segment: CustomerSegment): string {
  return SEGMENT_TO_CRM[segment];
}
