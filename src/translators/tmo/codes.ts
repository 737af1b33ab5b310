// CONTRACT.md § TMO: status codes (`STATUS`), `REASON_CODE` values, terminal models, currency.
import type {
  Currency,
  LifecycleStatus,
  StatusChangeReason,
  TargetTerminalStatus,
  TerminalModel,
} from '../../domain/model.ts';
import { fromCode, invert } from '../common/records.ts';

/** TMO `STATUS` → lifecycle status. */
export const TMO_STATUS: Readonly<Record<string, LifecycleStatus>> = {
  PE: 'pending',
  AC: 'active',
  SU: 'suspended',
  DC: 'decommissioned',
};
const STATUS_TO_TMO = invert(TMO_STATUS as Record<'PE' | 'AC' | 'SU' | 'DC', LifecycleStatus>);

/** TMO `REASON_CODE` → reason. */
export const TMO_REASON: Readonly<Record<string, StatusChangeReason>> = {
  '01': 'merchant_request',
  '02': 'suspected_fraud',
  '03': 'lost_or_stolen',
  '04': 'contract_ended',
  '99': 'other',
};
const REASON_TO_TMO = invert(TMO_REASON as Record<'01' | '02' | '03' | '04' | '99', StatusChangeReason>);

const MODELS: Readonly<Record<string, TerminalModel>> = { A920: 'A920', P400: 'P400', S1F2: 'S1F2' };
const CURRENCIES: Readonly<Record<string, Currency>> = { EUR: 'EUR' };

/** `PE`/`AC`/`SU`/`DC` → lifecycle status; unknown → TranslationError `tmo.contract_violation`. */
export function fromTmoStatus(code: string, field = 'STATUS'): LifecycleStatus {
  return fromCode(TMO_STATUS, code, 'tmo', field);
}

/** Lifecycle status → `PE`/`AC`/`SU`/`DC`. */
export function toTmoStatus(status: LifecycleStatus): string {
  return STATUS_TO_TMO[status];
}

/** Target status of a change → `NEW_STATUS` (`AC`, `SU`, `DC`). */
export function toTmoNewStatus(status: TargetTerminalStatus): string {
  return STATUS_TO_TMO[status];
}

/** Reason → two-digit `REASON_CODE`. */
export function toTmoReason(reason: StatusChangeReason): string {
  return REASON_TO_TMO[reason];
}

/** Two-digit `REASON_CODE` → reason; unknown → TranslationError. */
export function fromTmoReason(code: string, field = 'REASON_CODE'): StatusChangeReason {
  return fromCode(TMO_REASON, code, 'tmo', field);
}

/** `MODEL` → terminal model; unknown → TranslationError. */
export function fromTmoModel(code: string, field = 'MODEL'): TerminalModel {
  return fromCode(MODELS, code, 'tmo', field);
}

/** `CURRENCY` → currency; anything but `EUR` → TranslationError. */
export function fromTmoCurrency(code: string, field = 'CURRENCY'): Currency {
  return fromCode(CURRENCIES, code, 'tmo', field);
}
