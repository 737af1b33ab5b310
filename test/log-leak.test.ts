/**
 * Acceptance: everything the test run logged is grepped for the IBANs and passwords it used,
 * and none is found. This file drives the real logger with the fixtures inside realistic
 * objects; `scripts/check-log-leaks.ts` (run by `npm test` after vitest) then greps the capture
 * of the *whole* run, including other tests' loggers from `createCapturedLogger()`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isValidIban } from '../src/infra/logger.ts';
import {
  CAPTURE_CANARY,
  captureFile,
  createCapturedLogger,
  findLeaks,
  sensitiveNeedles,
  TEST_IBANS,
  TEST_PASSWORDS,
  TEST_USERNAMES,
} from './support/log-capture.ts';

const [IBAN = '', IBAN2 = '', IBAN3 = ''] = TEST_IBANS;
const [TMO_PW = '', CRM_PW = ''] = TEST_PASSWORDS;
const [USER = ''] = TEST_USERNAMES;
const BASIC = `Basic ${Buffer.from(`${USER}:${TMO_PW}`).toString('base64')}`;
const JWT =
  'eyJhbGciOiJFUzI1NiIsImtpZCI6ImRldiIsInR5cCI6IkpXVCJ9.eyJzY29wZSI6Im1lcmNoYW50czp3cml0ZSIsInN1YiI6ImRldi11c2VyIn0.MEUCIQDx-signature-part';

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A CRM CreateCustomer envelope as node-soap sends it (WS-Security PasswordText + IBAN in clear). */
const CRM_ENVELOPE = `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns="urn:legacy:crm:2009"><soap:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" soap:mustUnderstand="1"><wsse:UsernameToken><wsse:Username>${USER}</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">${xml(CRM_PW)}</wsse:Password></wsse:UsernameToken></wsse:Security></soap:Header><soap:Body><tns:CreateCustomerRequest><tns:Customer><tns:CustName>Caffè Società Srl</tns:CustName><tns:VatNo>01234567890</tns:VatNo><tns:Iban>${IBAN}</tns:Iban></tns:Customer></tns:CreateCustomerRequest></soap:Body></soap:Envelope>`;

/** What node-soap/axios reject with: the whole request rides along. */
function soapError(): Error {
  return Object.assign(new Error('Error http status codes'), {
    code: 'ERR_BAD_RESPONSE',
    config: {
      url: 'http://127.0.0.1:40123/crm',
      headers: { Authorization: BASIC, SOAPAction: 'CreateCustomer' },
      auth: { username: USER, password: TMO_PW },
      data: CRM_ENVELOPE,
    },
    request: { _header: `POST /tmo HTTP/1.1\r\nAuthorization: ${BASIC}\r\n` },
    response: {
      status: 500,
      config: { headers: { Authorization: BASIC }, data: CRM_ENVELOPE },
      data: `<soap:Fault><faultstring>CRM-400 Iban ${IBAN2} invalid</faultstring></soap:Fault>`,
    },
    lastRequest: CRM_ENVELOPE,
    root: { Envelope: { Body: { Fault: { faultcode: 'soap:Client', faultstring: `CRM-400 Iban ${IBAN2}` } } } },
  });
}

describe('log leak check', () => {
  it('when the fixtures are checked, then every IBAN passes mod-97', () => {
    for (const iban of TEST_IBANS) expect(isValidIban(iban)).toBe(true);
  });

  it('when a leak is planted in text, then findLeaks reports it by label without the value', () => {
    const planted = [
      `{"msg":"x","iban":"${IBAN3}"}`,
      `{"msg":"grouped ${IBAN.replace(/(.{4})(?=.)/g, '$1 ')}"}`,
      `{"auth":"Basic ${Buffer.from(`${USER}:${TMO_PW}`).toString('base64')}"}`,
      `{"body":"<Password>${xml(CRM_PW)}</Password>"}`,
      `{"json":${JSON.stringify(CRM_PW)}}`,
    ].join('\n');
    const leaks = findLeaks(planted);
    expect(new Set(leaks.map((l) => l.line))).toEqual(new Set([1, 2, 3, 4, 5]));
    for (const l of leaks) for (const n of sensitiveNeedles()) if (n.value.length > 8) expect(l.label).not.toContain(n.value);
  });

  it('when realistic sensitive objects are logged through the captured logger, then the capture holds none of the fixtures', () => {
    const logger = createCapturedLogger({ name: 'log-leak.test' });
    const before = readFileSync(captureFile(), { encoding: 'utf8', flag: 'a+' }).length;

    logger.info({ canary: CAPTURE_CANARY }, CAPTURE_CANARY);
    // SOAP XML with the WS-Security password and the IBAN, as a message and as a field
    logger.debug(CRM_ENVELOPE);
    logger.debug({ op: 'CreateCustomer', envelope: CRM_ENVELOPE }, 'soap request');
    logger.debug('soap request %s', CRM_ENVELOPE);
    // axios/node-soap errors, top-level, under err, nested, and as a cause
    const err = soapError();
    logger.error(err);
    logger.error({ err, system: 'crm' }, 'legacy call failed');
    logger.warn({ job: { id: '42', failedReason: err } }, 'job failed');
    logger.error({ err: new Error('onboarding failed', { cause: err }) }, 'wrapped');
    // an incoming request with a bearer token and a body holding an IBAN
    logger.info(
      {
        req: { method: 'POST', url: '/v1/merchants', headers: { authorization: `Bearer ${JWT}`, 'x-request-id': 'r-1' } },
        body: { name: 'Caffè', payout: { iban: IBAN }, bank: { IBAN: IBAN2 } },
      },
      'request',
    );
    // credentials in structured config-like objects and in child bindings
    logger.info({ tmo: { url: 'http://tmo', username: USER, password: TMO_PW } }, 'adapter created');
    logger.child({ creds: { basic: BASIC }, customer: { Iban: IBAN3 } }).info('child bindings');
    logger.info(`redis at redis://default:${TMO_PW}@127.0.0.1:6379/0`);
    // free text that an engineer might write
    logger.warn(`CRM rejected Iban ${IBAN} for customer C000012345`);
    logger.warn(`header was Authorization: ${BASIC}`);

    const written = readFileSync(captureFile(), 'utf8').slice(before);
    expect(written).toContain(CAPTURE_CANARY);
    expect(written.split('\n').filter(Boolean).length).toBe(14);
    expect(findLeaks(written, captureFile())).toEqual([]);
    // the useful parts survive
    expect(written).toContain('"status":500');
    expect(written).toContain('C000012345');
    expect(written).toContain(`${IBAN.slice(0, 2)}${'*'.repeat(14)}${IBAN.slice(-4)}`); // the one mask shape (domain/iban.ts)
  });
});
