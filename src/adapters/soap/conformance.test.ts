// Proves the lean client honours the WSDLs: for every operation, the envelope it sends means
// exactly what a real node-soap 1.13 client sends for the same input (same elements,
// namespaces, order, values, security header), and the HTTP headers match.
import path from 'node:path';
import soap from 'soap';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toCrmAddExternalRef, toCrmGetCustomer, toCrmNewCustomer, toCrmSearchCustomers, toCrmUpdateCustomer } from '../../translators/crm/customer.ts';
import { toTmoGetMerchant, toTmoRegisterMerchant } from '../../translators/tmo/merchant.ts';
import {
  toTmoChangeTerminalStatus,
  toTmoGetTerminal,
  toTmoListTerminals,
  toTmoOrderTerminal,
} from '../../translators/tmo/terminal.ts';
import { createSoapClient, type SoapClient } from './client.ts';
import type { RequestValues } from './envelope.ts';
import { canonicalXml } from './testing/canonical-xml.ts';
import { startCaptureServer, type CaptureServer } from './testing/capture-server.ts';
import { usernameTokenHeader } from './wsse.ts';

const TMO_WSDL = path.resolve('fixtures/tmo/TerminalManagement.wsdl');
const CRM_WSDL = path.resolve('fixtures/crm/CustomerService.wsdl');
const USER = 'gateway';
const PASSWORD = 'pw & <secret> "quoted"';
const TS = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z/g;

const ADDRESS = { line1: 'Via dell\'Unità d\'Italia 1 & 2 <b>', city: 'Forlì', postalCode: '47121', province: 'FC', country: 'IT' };

const TMO_CASES: Array<[string, RequestValues]> = [
  ['RegisterMerchant', toTmoRegisterMerchant({ vatNumber: '12345678901', name: 'Caffè "Società" & Figli <srl>', mcc: '5812', address: ADDRESS, customerId: 'C000012345' })],
  ['RegisterMerchant', toTmoRegisterMerchant({ vatNumber: '', name: '', mcc: '', address: { line1: '', city: '', postalCode: '', province: '', country: '' }, customerId: '' })],
  ['GetMerchant', toTmoGetMerchant('000000000012345')],
  ['OrderTerminal', toTmoOrderTerminal('000000000012345', { model: 'A920', contactless: true, currency: 'EUR', shippingAddress: ADDRESS })],
  ['GetTerminal', toTmoGetTerminal('T0000001')],
  ['ListTerminals', toTmoListTerminals('000000000012345', 3, 50)],
  ['ChangeTerminalStatus', toTmoChangeTerminalStatus('T0000001', 'suspended', 'suspected_fraud')],
];

const CRM_CASES: Array<[string, RequestValues]> = [
  ['CreateCustomer', toCrmNewCustomer({
    name: 'Caffè Società & Figli <srl> "x" \'y\'', vatNumber: '12345678901', taxCode: 'RSSMRA80A01H501U', segment: 'retail',
    email: 'a@b.example', phone: null, address: ADDRESS, iban: 'IT60X0542811101000000123456', partnerId: 'C000000007',
  })],
  ['GetCustomer', toCrmGetCustomer('C000012345')],
  ['UpdateCustomer', toCrmUpdateCustomer('C000012345', { email: 'new@x.example', address: { city: 'Köln' } })],
  ['SearchCustomers', toCrmSearchCustomers({ partnerId: null, segment: 'partner', page: 2, pageSize: 100 })],
  ['AddExternalRef', toCrmAddExternalRef('C000012345', 'TMO', '000000000012345')],
];

interface Pair {
  server: CaptureServer;
  reference: soap.Client;
  lean: SoapClient;
}

async function pair(wsdl: string, system: 'tmo' | 'crm'): Promise<Pair> {
  const server = await startCaptureServer();
  const reference = await soap.createClientAsync(wsdl, { endpoint: server.url });
  if (system === 'tmo') reference.setSecurity(new soap.BasicAuthSecurity(USER, PASSWORD));
  else reference.setSecurity(new soap.WSSecurity(USER, PASSWORD, { passwordType: 'PasswordText', hasTimeStamp: false }));
  const lean = await createSoapClient({
    system,
    wsdlPath: wsdl,
    endpoint: server.url,
    timeoutMs: 5000,
    maxSockets: 4,
    ...(system === 'tmo'
      ? { headers: { Authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` } }
      : { soapHeader: usernameTokenHeader(USER, PASSWORD) }),
  });
  return { server, reference, lean };
}

async function capture(p: Pair, op: string, values: RequestValues) {
  p.server.requests.length = 0;
  const method = (p.reference as unknown as Record<string, (a: unknown, o: unknown) => Promise<unknown>>)[`${op}Async`];
  if (!method) throw new Error(`node-soap has no ${op}Async`);
  await method.call(p.reference, structuredClone(values), { headers: { 'X-Request-Id': 'conf-1' } }).catch(() => undefined);
  await p.lean.call(op, values, { requestId: 'conf-1' });
  const [ref, ours] = p.server.requests;
  if (!ref || !ours) throw new Error('both clients should have called');
  return { ref, ours };
}

describe.each([
  ['TMO', TMO_WSDL, 'tmo' as const, TMO_CASES],
  ['CRM', CRM_WSDL, 'crm' as const, CRM_CASES],
])('%s lean client vs node-soap', (_name, wsdl, system, cases) => {
  let p: Pair;
  beforeAll(async () => {
    p = await pair(wsdl, system);
  });
  afterAll(async () => {
    p.lean.close();
    await p.server.close();
  });

  it.each(cases)('when %s is sent, then the envelope equals node-soap\'s', async (op, values) => {
    const { ref, ours } = await capture(p, op, values);
    expect(canonicalXml(ours.body.replace(TS, 'T'))).toEqual(canonicalXml(ref.body.replace(TS, 'T')));
  });

  it.each(cases)('when %s is sent, then SOAPAction, content type, auth and request id match node-soap', async (op, values) => {
    const { ref, ours } = await capture(p, op, values);
    for (const h of ['soapaction', 'content-type', 'authorization', 'x-request-id']) {
      expect([h, ours.headers[h]]).toEqual([h, ref.headers[h]]);
    }
    expect(ours.headers.soapaction).toBe(`"${op}"`);
    expect(ours.method).toBe('POST');
    expect(ours.url).toBe(ref.url);
  });
});

describe('CRM WS-Security header', () => {
  it('when a CRM call is made, then the UsernameToken is byte-identical to node-soap (PasswordText, no Timestamp)', async () => {
    const p = await pair(CRM_WSDL, 'crm');
    try {
      const { ref, ours } = await capture(p, 'GetCustomer', toCrmGetCustomer('C000012345'));
      const header = (xml: string): string => /<soap:Header>(.*)<\/soap:Header>/.exec(xml.replace(TS, 'T'))?.[1] ?? 'none';
      expect(header(ours.body)).toBe(header(ref.body));
      expect(ours.body).not.toContain('Timestamp');
      expect(ours.body).toContain('#PasswordText');
    } finally {
      p.lean.close();
      await p.server.close();
    }
  });
});

describe('canonical comparison', () => {
  const ns = 'xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"';
  it.each([
    ['order', `<s:Envelope ${ns}><s:Body><A xmlns="urn:x"><B>1</B><C>2</C></A></s:Body></s:Envelope>`, `<s:Envelope ${ns}><s:Body><A xmlns="urn:x"><C>2</C><B>1</B></A></s:Body></s:Envelope>`],
    ['namespace', `<s:Envelope ${ns}><s:Body><A xmlns="urn:x"><B>1</B></A></s:Body></s:Envelope>`, `<s:Envelope ${ns}><s:Body><A xmlns="urn:y"><B>1</B></A></s:Body></s:Envelope>`],
    ['value', `<s:Envelope ${ns}><s:Body><A xmlns="urn:x"><B>1</B></A></s:Body></s:Envelope>`, `<s:Envelope ${ns}><s:Body><A xmlns="urn:x"><B>01</B></A></s:Body></s:Envelope>`],
    ['omitted element', `<s:Envelope ${ns}><s:Body><A xmlns="urn:x"><B></B></A></s:Body></s:Envelope>`, `<s:Envelope ${ns}><s:Body><A xmlns="urn:x"></A></s:Body></s:Envelope>`],
  ])('when two envelopes differ by %s, then they do not compare equal', (_what, a, b) => {
    expect(canonicalXml(a)).not.toEqual(canonicalXml(b));
  });

  it('when two envelopes differ only by prefixes, then they compare equal', () => {
    expect(canonicalXml(`<s:Envelope ${ns}><s:Body><t:A xmlns:t="urn:x"><t:B>1</t:B></t:A></s:Body></s:Envelope>`)).toEqual(
      canonicalXml(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><A xmlns="urn:x"><B>1</B></A></soap:Body></soap:Envelope>`),
    );
  });
});
