// The fault tables, row by row: every outcome in CONTRACT.md and NODE-SOAP-NOTES.md → kind,
// code, retryable, and whether it counts toward the circuit breaker.
import { describe, expect, it } from 'vitest';
import type { ErrorKind, GatewayError } from '../../domain/errors/index.ts';
import { crmFaultError } from './crm-faults.ts';
import { httpStatusError, malformedError, transportError } from './http-faults.ts';
import { countsTowardBreaker } from './resilience.ts';
import { tmoFaultError, tmoReturnOutcome, type TmoOperation } from './tmo-faults.ts';
import { TransportFailure, type TransportFailureReason } from './transport.ts';

interface Expected {
  kind: ErrorKind;
  code: string;
  retryable: boolean;
  breaker: boolean;
}

function check(err: GatewayError, e: Expected): void {
  expect({ kind: err.kind, code: err.code, retryable: err.retryable, breaker: countsTowardBreaker(err) }).toEqual(e);
}

function thrown(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    return err as GatewayError;
  }
  throw new Error('expected a throw');
}

describe('TMO RETURN_CODE table', () => {
  it.each<[TmoOperation, string, string]>([
    ['GetTerminal', '00', 'ok'],
    ['RegisterMerchant', 'E301', 'existing'],
    ['ChangeTerminalStatus', 'E302', 'unchanged'],
  ])('when %s answers %s, then the outcome is %s', (op, code, outcome) => {
    expect(tmoReturnOutcome(op, code, 'MSG 000000000000001')).toBe(outcome);
  });

  it.each<[TmoOperation, string, string, Expected]>([
    ['RegisterMerchant', 'E101', 'INVALID FIELD ZIP', { kind: 'validation', code: 'tmo.invalid_field', retryable: false, breaker: false }],
    ['ChangeTerminalStatus', 'E101', 'INVALID FIELD NEW_STATUS: TERMINAL IS DECOMMISSIONED', { kind: 'business', code: 'terminal.status_change_not_allowed', retryable: false, breaker: false }],
    ['RegisterMerchant', 'E102', 'MCC 7995 NOT ALLOWED', { kind: 'business', code: 'merchant.mcc_not_allowed', retryable: false, breaker: false }],
    ['GetMerchant', 'E201', 'MID NOT FOUND', { kind: 'not_found', code: 'merchant.not_found', retryable: false, breaker: false }],
    ['OrderTerminal', 'E201', 'MID NOT FOUND', { kind: 'not_found', code: 'merchant.not_found', retryable: false, breaker: false }],
    ['GetTerminal', 'E202', 'TID NOT FOUND', { kind: 'not_found', code: 'terminal.not_found', retryable: false, breaker: false }],
    ['GetTerminal', 'E901', 'SYSTEM BUSY', { kind: 'unavailable', code: 'tmo.busy', retryable: true, breaker: true }],
    ['GetTerminal', 'E301', 'ALREADY', { kind: 'translation', code: 'tmo.contract_violation', retryable: false, breaker: false }],
    ['GetTerminal', 'E302', 'ALREADY', { kind: 'translation', code: 'tmo.contract_violation', retryable: false, breaker: false }],
    ['GetTerminal', 'E999', 'NEW CODE', { kind: 'translation', code: 'tmo.contract_violation', retryable: false, breaker: false }],
    ['GetTerminal', '', '', { kind: 'translation', code: 'tmo.contract_violation', retryable: false, breaker: false }],
  ])('when %s answers %s (%s), then it is %j', (op, code, msg, e) => {
    check(thrown(() => tmoReturnOutcome(op, code, msg)), e);
  });

  it('when E101 names a field, then the error names the clean field and not the legacy text', () => {
    const err = thrown(() => tmoReturnOutcome('RegisterMerchant', 'E101', 'INVALID FIELD ADDR_LINE: SECRET DETAIL'));
    expect(err.fields).toEqual([{ field: 'address.line1', reason: expect.any(String) }]);
    expect(JSON.stringify(err.toJSON())).not.toMatch(/SECRET|ADDR_LINE/);
  });
});

describe('TMO fault table', () => {
  it.each<[string, string, Expected]>([
    ['Server', 'TMO-SYS-001 DATABASE DOWN', { kind: 'unavailable', code: 'tmo.system_error', retryable: true, breaker: true }],
    ['Server', 'something else', { kind: 'unavailable', code: 'tmo.system_error', retryable: true, breaker: true }],
    ['Client', 'TMO-VAL: MALFORMED REQUEST', { kind: 'translation', code: 'tmo.request_rejected', retryable: false, breaker: false }],
    ['Server', 'TMO-VAL: odd prefix', { kind: 'translation', code: 'tmo.request_rejected', retryable: false, breaker: false }],
    ['Client', 'unknown', { kind: 'translation', code: 'tmo.request_rejected', retryable: false, breaker: false }],
    ['VersionMismatch', '', { kind: 'translation', code: 'tmo.request_rejected', retryable: false, breaker: false }],
  ])('when TMO faults with %s / %j, then it is %j', (faultcode, faultstring, e) => {
    const err = tmoFaultError({ faultcode, faultstring, detail: undefined });
    check(err, e);
    expect(err.message).not.toContain(faultstring || '∅');
  });
});

describe('CRM fault table', () => {
  const fault = (faultcode: string, code: string | null, text = '', faultstring = code ?? '') => ({
    faultcode,
    faultstring,
    detail: code === null ? undefined : { CrmError: { Code: code, Text: text } },
  });

  it.each<[string, ReturnType<typeof fault>, Expected]>([
    ['CRM-400', fault('Client', 'CRM-400', 'Validation failed: PostCode must be 5 digits'), { kind: 'validation', code: 'crm.invalid_field', retryable: false, breaker: false }],
    ['CRM-404', fault('Client', 'CRM-404', 'Customer C000000001 not found'), { kind: 'not_found', code: 'customer.not_found', retryable: false, breaker: false }],
    ['CRM-409 (outside create)', fault('Client', 'CRM-409', 'Duplicate VatNo: C000000001'), { kind: 'conflict', code: 'customer.duplicate_vat_number', retryable: false, breaker: false }],
    ['CRM-AUTH in detail', fault('Client', 'CRM-AUTH', 'Authentication failed'), { kind: 'unavailable', code: 'crm.auth_failed', retryable: false, breaker: true }],
    ['CRM-AUTH as faultstring only', fault('Client', null, '', 'CRM-AUTH'), { kind: 'unavailable', code: 'crm.auth_failed', retryable: false, breaker: true }],
    ['CRM-500', fault('Server', 'CRM-500', 'Internal error'), { kind: 'unavailable', code: 'crm.system_error', retryable: true, breaker: true }],
    ['soap:Server, no detail', fault('Server', null, '', 'boom'), { kind: 'unavailable', code: 'crm.system_error', retryable: true, breaker: true }],
    ['soap:Server, unknown code', fault('Server', 'CRM-999'), { kind: 'unavailable', code: 'crm.system_error', retryable: true, breaker: true }],
    ['soap:Client, unknown code', fault('Client', 'CRM-418'), { kind: 'translation', code: 'crm.request_rejected', retryable: false, breaker: false }],
  ])('when CRM faults with %s, then it is %j', (_label, f, e) => {
    check(crmFaultError(f), e);
  });

  it('when CRM-400 names a field, then the clean field is reported, never the text', () => {
    const err = crmFaultError(fault('Client', 'CRM-400', 'Validation failed: Iban IT60X0542811101000000123456 is invalid'));
    expect(err.fields).toEqual([{ field: 'iban', reason: expect.any(String) }]);
    expect(JSON.stringify(err.toJSON())).not.toContain('0542811101');
    expect(JSON.stringify(err.cause)).not.toContain('0542811101');
  });
});

describe('transport and HTTP table', () => {
  it.each<[TransportFailureReason, Expected]>([
    ['timeout', { kind: 'timeout', code: 'tmo.timeout', retryable: true, breaker: true }],
    ['refused', { kind: 'unavailable', code: 'tmo.unreachable', retryable: true, breaker: true }],
    ['network', { kind: 'unavailable', code: 'tmo.unreachable', retryable: true, breaker: true }],
    ['reset', { kind: 'unavailable', code: 'tmo.connection_reset', retryable: true, breaker: true }],
    ['aborted', { kind: 'unavailable', code: 'tmo.aborted', retryable: false, breaker: false }],
    ['too_large', { kind: 'translation', code: 'tmo.response_too_large', retryable: false, breaker: false }],
  ])('when the transport fails with %s, then it is %j', (reason, e) => {
    check(transportError('tmo', new TransportFailure(reason), 1000), e);
  });

  it.each<[number, Expected]>([
    [401, { kind: 'unavailable', code: 'crm.auth_failed', retryable: false, breaker: true }],
    [403, { kind: 'unavailable', code: 'crm.auth_failed', retryable: false, breaker: true }],
    [503, { kind: 'unavailable', code: 'crm.unavailable', retryable: true, breaker: true }],
    [502, { kind: 'unavailable', code: 'crm.unavailable', retryable: true, breaker: true }],
    [500, { kind: 'unavailable', code: 'crm.unavailable', retryable: true, breaker: true }],
    [429, { kind: 'unavailable', code: 'crm.unavailable', retryable: true, breaker: true }],
    [404, { kind: 'unavailable', code: 'crm.http_error', retryable: false, breaker: true }],
    [200, { kind: 'translation', code: 'crm.bad_response', retryable: false, breaker: false }],
  ])('when CRM answers HTTP %i without an envelope, then it is %j', (status, e) => {
    check(httpStatusError('crm', { status, retryAfterSeconds: undefined }), e);
  });

  it('when a 503 carries Retry-After, then the error carries it', () => {
    expect(httpStatusError('tmo', { status: 503, retryAfterSeconds: 30 }).retryAfterSeconds).toBe(30);
  });

  it('when a reply is unreadable, then it is a translation error', () => {
    check(malformedError('tmo', undefined), { kind: 'translation', code: 'tmo.bad_response', retryable: false, breaker: false });
  });
});
