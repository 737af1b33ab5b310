// CONTRACT.md § CRM (CrmError codes, soap:Client / soap:Server, CRM-AUTH) and
// NODE-SOAP-NOTES.md § Errors: every CRM fault → the domain taxonomy. Transport and HTTP
// outcomes are classified by http-faults.ts with `crm.` codes. `Text` never leaves this
// file, except the clean field name (CRM-400) or the CustId (CRM-409) found in it.
import {
  ConflictError,
  NotFoundError,
  TranslationError,
  UnavailableError,
  ValidationError,
  type GatewayError,
} from '../../domain/errors/index.ts';
import { cleanFieldFromCrmText } from '../../translators/crm/fields.ts';
import type { SoapFault } from './response.ts';

const SYSTEM = { system: 'crm' } as const;

/** The `CrmError` in a fault's detail, if any. */
export function crmErrorOf(fault: SoapFault): { code: string; text: string } | null {
  const detail = fault.detail;
  if (typeof detail !== 'object' || detail === null) return null;
  const e = (detail as Record<string, unknown>).CrmError;
  if (typeof e !== 'object' || e === null) return null;
  const r = e as Record<string, unknown>;
  return { code: typeof r.Code === 'string' ? r.Code : '', text: typeof r.Text === 'string' ? r.Text : '' };
}

/**
 * A CRM fault → domain error. CRM-409 here is a ConflictError; `createCustomer` reads the
 * existing CustId first (`crmErrorOf`) and treats the duplicate as success.
 * CRM-AUTH is the gateway's misconfiguration: UnavailableError `crm.auth_failed`, not
 * retryable (alert), never blamed on the caller.
 */
export function crmFaultError(fault: SoapFault): GatewayError {
  const crm = crmErrorOf(fault);
  const cause = { faultcode: fault.faultcode, code: crm?.code ?? null };
  const code = crm?.code ?? (fault.faultstring.startsWith('CRM-AUTH') ? 'CRM-AUTH' : '');
  switch (code) {
    case 'CRM-400': {
      const field = cleanFieldFromCrmText(crm?.text ?? '');
      return new ValidationError(
        'crm.invalid_field',
        field === null ? 'The customer master rejected a field' : `The customer master rejected ${field}`,
        { ...SYSTEM, cause, fields: field === null ? [] : [{ field, reason: 'rejected by the customer master' }] },
      );
    }
    case 'CRM-404':
      return new NotFoundError('customer.not_found', 'The customer does not exist', { ...SYSTEM, cause });
    case 'CRM-409':
      return new ConflictError('customer.duplicate_vat_number', 'A customer with this VAT number already exists', {
        ...SYSTEM,
        cause,
        fields: [{ field: 'vatNumber', reason: 'already registered' }],
      });
    case 'CRM-AUTH':
      return new UnavailableError('crm.auth_failed', "CRM refused the gateway's credentials", { ...SYSTEM, cause, retryable: false });
    case 'CRM-500':
      return new UnavailableError('crm.system_error', 'The customer master failed', { ...SYSTEM, cause });
  }
  if (fault.faultcode === 'Server') {
    return new UnavailableError('crm.system_error', 'The customer master failed', { ...SYSTEM, cause });
  }
  // soap:Client with no code we know: our request was wrong, or CRM broke its contract.
  return new TranslationError('crm.request_rejected', 'CRM rejected the request', { ...SYSTEM, cause });
}
