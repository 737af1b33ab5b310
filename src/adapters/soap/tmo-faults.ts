// CONTRACT.md § TMO (RETURN_CODE table, TMO-SYS / TMO-VAL faults, HTTP 401) and
// NODE-SOAP-NOTES.md § Errors: every TMO outcome → the domain taxonomy. Transport and HTTP
// outcomes are classified by http-faults.ts with `tmo.` codes (see the table test).
// Messages are ours: RETURN_MSG / faultstring never leave this file (only a field name does).
import {
  BusinessError,
  NotFoundError,
  TranslationError,
  UnavailableError,
  ValidationError,
  type GatewayError,
} from '../../domain/errors/index.ts';
import { cleanFieldFromTmoMessage } from '../../translators/tmo/fields.ts';
import type { SoapFault } from './response.ts';

export type TmoOperation =
  | 'RegisterMerchant'
  | 'GetMerchant'
  | 'OrderTerminal'
  | 'GetTerminal'
  | 'ListTerminals'
  | 'ChangeTerminalStatus';

/** What a RETURN_CODE means for the call: go on, or one of the two non-error special cases. */
export type TmoOutcome =
  /** `00` */
  | 'ok'
  /** `E301` on RegisterMerchant: the VAT number is registered; RETURN_MSG holds the MID */
  | 'existing'
  /** `E302` on ChangeTerminalStatus: already in that status (idempotent success) */
  | 'unchanged';

const SYSTEM = { system: 'tmo' } as const;

/**
 * RETURN_CODE (+ RETURN_MSG, read only for a field name) → outcome, or throws the domain
 * error. `E101` on ChangeTerminalStatus is a refused transition (e.g. `DC` is final);
 * elsewhere it is a validation error on the named field. Unknown codes, or E301/E302 where
 * the contract does not expect them, are contract violations.
 */
export function tmoReturnOutcome(op: TmoOperation, returnCode: string, returnMsg: string): TmoOutcome {
  switch (returnCode) {
    case '00':
      return 'ok';
    case 'E101': {
      if (op === 'ChangeTerminalStatus') {
        throw new BusinessError('terminal.status_change_not_allowed', 'The terminal cannot move to the requested status', SYSTEM);
      }
      const field = cleanFieldFromTmoMessage(returnMsg);
      throw new ValidationError(
        'tmo.invalid_field',
        field === null ? 'The terminal system rejected a field' : `The terminal system rejected ${field}`,
        { ...SYSTEM, fields: field === null ? [] : [{ field, reason: 'rejected by the terminal system' }] },
      );
    }
    case 'E102':
      throw new BusinessError('merchant.mcc_not_allowed', 'The merchant category code is not allowed', {
        ...SYSTEM,
        fields: [{ field: 'mcc', reason: 'not allowed' }],
      });
    case 'E201':
      throw new NotFoundError('merchant.not_found', 'The merchant is not registered in the terminal system', SYSTEM);
    case 'E202':
      throw new NotFoundError('terminal.not_found', 'The terminal does not exist', SYSTEM);
    case 'E301':
      if (op === 'RegisterMerchant') return 'existing';
      break;
    case 'E302':
      if (op === 'ChangeTerminalStatus') return 'unchanged';
      break;
    case 'E901':
      throw new UnavailableError('tmo.busy', 'The terminal system is busy, try later', SYSTEM);
  }
  throw new TranslationError('tmo.contract_violation', 'TMO sent an unknown RETURN_CODE', SYSTEM);
}

/**
 * A SOAP fault from TMO → domain error. `TMO-SYS…` (and any soap:Server fault) → retryable
 * UnavailableError. `TMO-VAL…` (and any soap:Client fault) is a malformed request: the
 * gateway's own bug, so a non-retryable TranslationError (502, alert) — never the caller's
 * fault, and retrying the same bytes cannot help.
 */
export function tmoFaultError(fault: SoapFault): GatewayError {
  const cause = { faultcode: fault.faultcode };
  if (fault.faultstring.startsWith('TMO-VAL')) {
    return new TranslationError('tmo.request_rejected', 'TMO rejected the request as malformed', { ...SYSTEM, cause });
  }
  if (fault.faultstring.startsWith('TMO-SYS') || fault.faultcode === 'Server') {
    return new UnavailableError('tmo.system_error', 'The terminal system failed', { ...SYSTEM, cause });
  }
  return new TranslationError('tmo.request_rejected', 'TMO rejected the request', { ...SYSTEM, cause });
}
