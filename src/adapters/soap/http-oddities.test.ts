// What a real network and its proxies do that the simulators do not: canned bytes from an
// in-process server on 127.0.0.1:0. Every oddity → a classified, sanitised domain error.
import type http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCrmAdapter, type CrmAdapter } from './crm-adapter.ts';
import { startCaptureServer, type CaptureServer } from './testing/capture-server.ts';
import { crmOptions, tmoOptions } from './testing/options.ts';
import { createTmoAdapter, type TmoAdapter } from './tmo-adapter.ts';

const ctx = { requestId: 'odd-1' };
const NS = 'urn:legacy:tmo:v3';
const env = (body: string) =>
  `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>${body}</soap:Body></soap:Envelope>`;
const TERMINAL_OK = env(
  `<t:GetTerminalResponse xmlns:t="${NS}"><t:RETURN_CODE>00</t:RETURN_CODE><t:RETURN_MSG>OK</t:RETURN_MSG><t:TERMINAL>` +
    '<t:TID>T0000001</t:TID><t:MID>000000000012345</t:MID><t:MODEL>A920</t:MODEL><t:SERIAL_NO> SN&amp;1 </t:SERIAL_NO><t:STATUS>AC</t:STATUS>' +
    '<t:CONTACTLESS>Y</t:CONTACTLESS><t:CURRENCY>EUR</t:CURRENCY><t:LAST_SEEN_DATE>20240715</t:LAST_SEEN_DATE><t:LAST_SEEN_TIME>103000</t:LAST_SEEN_TIME>' +
    '</t:TERMINAL></t:GetTerminalResponse>',
);

let server: CaptureServer;
let tmo: TmoAdapter;
let crm: CrmAdapter;

function reply(status: number, headers: http.OutgoingHttpHeaders, body: string | Buffer): void {
  server.respond((_req, res) => {
    res.writeHead(status, headers);
    res.end(body);
  });
}

beforeAll(async () => {
  server = await startCaptureServer();
  // A huge breaker volume: these tests look at one call at a time, not at the circuit.
  const breaker = { errorThresholdPercentage: 50, volumeThreshold: 10_000, resetTimeoutMs: 1000, rollingWindowMs: 10_000 };
  tmo = await createTmoAdapter(tmoOptions(server.url, { breaker, timeoutMs: 200, maxResponseBytes: 64 * 1024, timeZone: 'Europe/Rome' }));
  crm = await createCrmAdapter(crmOptions(server.url, { breaker, timeoutMs: 200 }));
});
afterAll(async () => {
  await tmo.close();
  await crm.close();
  await server.close();
});
beforeEach(() => {
  server.requests.length = 0;
});

const XML = { 'Content-Type': 'text/xml; charset=utf-8' };

describe('HTTP oddities', () => {
  it('when TMO answers a well-formed envelope, then prefixes are removed, text trimmed and entities decoded', async () => {
    reply(200, XML, TERMINAL_OK);
    await expect(tmo.getTerminal('T0000001', ctx)).resolves.toMatchObject({ serialNumber: 'SN&1', lastSeenAt: '2024-07-15T08:30:00.000Z' });
    expect(server.requests[0]?.headers).toMatchObject({
      soapaction: '"GetTerminal"',
      'content-type': 'text/xml; charset=utf-8',
      'x-request-id': 'odd-1',
      authorization: expect.stringMatching(/^Basic /),
    });
  });

  it.each<[string, { kind: string; code: string }, number, http.OutgoingHttpHeaders, string]>([
    ['an HTML error page from a proxy (502)', { kind: 'unavailable', code: 'tmo.unavailable' }, 502, { 'Content-Type': 'text/html' }, '<html><body><h1>502 Bad Gateway</h1></body></html>'],
    ['an HTML page with 200', { kind: 'translation', code: 'tmo.bad_response' }, 200, { 'Content-Type': 'text/html' }, '<html><body>Login</body></html>'],
    ['truncated XML', { kind: 'translation', code: 'tmo.bad_response' }, 200, XML, TERMINAL_OK.slice(0, 200)],
    ['mismatched tags', { kind: 'translation', code: 'tmo.bad_response' }, 200, XML, TERMINAL_OK.replace('</t:MODEL>', '</t:MODELX>')],
    ['a DTD (entity expansion attempt)', { kind: 'translation', code: 'tmo.bad_response' }, 200, XML, `<!DOCTYPE x [<!ENTITY a "aaaa">]>${TERMINAL_OK}`],
    ['the wrong content type', { kind: 'translation', code: 'tmo.bad_response' }, 200, { 'Content-Type': 'application/json' }, '{"RETURN_CODE":"00"}'],
    ['no content type', { kind: 'translation', code: 'tmo.bad_response' }, 200, {}, TERMINAL_OK],
    ['an envelope without the response element', { kind: 'translation', code: 'tmo.bad_response' }, 200, XML, env('<Other/>')],
    ['an unknown RETURN_CODE', { kind: 'translation', code: 'tmo.contract_violation' }, 200, XML, TERMINAL_OK.replace('>00<', '>X9<')],
    ['a record breaking the contract', { kind: 'translation', code: 'tmo.contract_violation' }, 200, XML, TERMINAL_OK.replace('>AC<', '>ZZ<')],
    ['401 with an empty body', { kind: 'unavailable', code: 'tmo.auth_failed' }, 401, {}, ''],
    ['503 with an empty body', { kind: 'unavailable', code: 'tmo.unavailable' }, 503, {}, ''],
    ['404 (wrong endpoint path)', { kind: 'unavailable', code: 'tmo.http_error' }, 404, { 'Content-Type': 'text/plain' }, 'Not Found'],
    ['500 with a truncated fault', { kind: 'unavailable', code: 'tmo.unavailable' }, 500, XML, env('<soap:Fault><faultcode>soap:Server</faultcode>').slice(0, 120)],
    ['a TMO-SYS fault with another prefix', { kind: 'unavailable', code: 'tmo.system_error' }, 500, XML, '<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><e:Fault><faultcode>e:Server</faultcode><faultstring>TMO-SYS-42 DOWN</faultstring></e:Fault></e:Body></e:Envelope>'],
    ['a TMO-VAL fault', { kind: 'translation', code: 'tmo.request_rejected' }, 500, XML, env('<soap:Fault><faultcode>soap:Client</faultcode><faultstring>TMO-VAL: MALFORMED REQUEST</faultstring></soap:Fault>')],
    ['a fault on HTTP 200', { kind: 'unavailable', code: 'tmo.system_error' }, 200, XML, env('<soap:Fault><faultcode>soap:Server</faultcode><faultstring>TMO-SYS</faultstring></soap:Fault>')],
  ])('when TMO answers %s, then it is %j', async (_label, expected, status, headers, body) => {
    reply(status, headers, body);
    const err = await tmo.getTerminal('T0000001', ctx).catch((e: unknown) => e);
    expect(err).toMatchObject(expected);
    // Sanitised: no legacy text, no credentials, no envelope in message, JSON or cause.
    const dump = JSON.stringify({ m: (err as Error).message, j: err, c: (err as Error).cause ?? null });
    expect(dump).not.toMatch(/Bad Gateway|Login|TMO-SYS-42|MALFORMED|Basic |gateway-dev-secret|Envelope/);
  });

  it('when a 503 carries Retry-After, then the error carries retryAfterSeconds', async () => {
    reply(503, { 'Retry-After': '42' }, '');
    await expect(tmo.getTerminal('T0000001', ctx)).rejects.toMatchObject({ code: 'tmo.unavailable', retryAfterSeconds: 42 });
  });

  it('when the response is larger than the cap (declared), then it is tmo.response_too_large', async () => {
    reply(200, XML, TERMINAL_OK.replace('SN&amp;1', 'X'.repeat(100 * 1024)));
    await expect(tmo.getTerminal('T0000001', ctx)).rejects.toMatchObject({ kind: 'translation', code: 'tmo.response_too_large' });
  });

  it('when the response is larger than the cap (chunked, no length), then it is cut off with tmo.response_too_large', async () => {
    server.respond((_req, res) => {
      res.writeHead(200, XML);
      const chunk = 'X'.repeat(16 * 1024);
      let sent = 0;
      const timer = setInterval(() => {
        if (res.destroyed || sent > 200) {
          clearInterval(timer);
          res.destroy();
          return;
        }
        res.write(chunk);
        sent += 1;
      }, 1);
    });
    await expect(tmo.getTerminal('T0000001', ctx)).rejects.toMatchObject({ code: 'tmo.response_too_large' });
  });

  // CONTRACT.md § Common rules: replies are UTF-8. Bytes that are not must not become U+FFFD data.
  const withBytes = (xml: string, marker: string, bytes: number[]) => {
    const [head, tail] = xml.split(marker);
    return Buffer.concat([Buffer.from(head ?? ''), Buffer.from(bytes), Buffer.from(tail ?? '')]);
  };
  it.each<[string, number[]]>([
    ['Latin-1 (0xE8 for è)', [0x53, 0xe8, 0x4e]],
    ['a truncated two-byte sequence', [0x53, 0x4e, 0xc3]],
    ['an overlong encoding of "/"', [0xc0, 0xaf]],
    ['a UTF-16 surrogate encoded as UTF-8', [0xed, 0xa0, 0x80]],
  ])('when TMO answers 200 with %s in a field, then it is tmo.contract_violation (502), not U+FFFD text', async (_label, bytes) => {
    reply(200, XML, withBytes(TERMINAL_OK, 'SN&amp;1', bytes));
    const err = await tmo.getTerminal('T0000001', ctx).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'translation', code: 'tmo.contract_violation', retryable: false });
  });

  it('when TMO answers 200 with valid multi-byte UTF-8 and a BOM, then it is read as before', async () => {
    reply(200, XML, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(TERMINAL_OK.replace('SN&amp;1', 'SN-è€😀'))]));
    await expect(tmo.getTerminal('T0000001', ctx)).resolves.toMatchObject({ serialNumber: 'SN-è€😀' });
  });

  it('when TMO answers 503 with an error page in Latin-1, then the status decides: tmo.unavailable', async () => {
    reply(503, { 'Content-Type': 'text/html; charset=iso-8859-1' }, Buffer.from([0x3c, 0x70, 0x3e, 0xe8, 0x3c, 0x2f, 0x70, 0x3e]));
    await expect(tmo.getTerminal('T0000001', ctx)).rejects.toMatchObject({ kind: 'unavailable', code: 'tmo.unavailable' });
  });

  it('when CRM answers 200 with invalid UTF-8 in a name, then it is crm.contract_violation', async () => {
    const customer = env(
      '<GetCustomerResponse xmlns="urn:legacy:crm:2009"><Customer><CustId>C000000001</CustId><CustName>Caff@ Srl</CustName><VatNo>1</VatNo><FiscalCd>1</FiscalCd>' +
        '<Segment>CORP</Segment><Email/><Phone/><Street>S</Street><City>C</City><PostCode>1</PostCode><Province>MI</Province><Country>IT</Country>' +
        '<Iban/><PartnerId/><CreatedOn/><ExternalRefs/></Customer></GetCustomerResponse>',
    );
    reply(200, XML, withBytes(customer, '@', [0xe8]));
    await expect(crm.getCustomer('C000000001', ctx)).rejects.toMatchObject({ kind: 'translation', code: 'crm.contract_violation' });
  });

  it('when the connection is reset mid-call, then it is tmo.connection_reset', async () => {
    server.respond((req, res) => {
      void req;
      res.socket?.destroy();
    });
    await expect(tmo.getTerminal('T0000001', ctx)).rejects.toMatchObject({ kind: 'unavailable', code: 'tmo.connection_reset', retryable: true });
  });

  it('when the body stops halfway, then it is tmo.connection_reset', async () => {
    server.respond((_req, res) => {
      res.writeHead(200, { ...XML, 'Content-Length': String(TERMINAL_OK.length) });
      res.write(TERMINAL_OK.slice(0, 100));
      setTimeout(() => res.socket?.destroy(), 10);
    });
    await expect(tmo.getTerminal('T0000001', ctx)).rejects.toMatchObject({ code: 'tmo.connection_reset' });
  });

  it('when nothing comes back in time, then it is tmo.timeout and the call does not hang', async () => {
    server.respond(() => undefined);
    const started = Date.now();
    await expect(tmo.getTerminal('T0000001', ctx)).rejects.toMatchObject({ kind: 'timeout', code: 'tmo.timeout' });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it.each<[string, { kind: string; code: string }, number, string]>([
    ['401 with an empty body', { kind: 'unavailable', code: 'crm.auth_failed' }, 401, ''],
    ['503 with an empty body', { kind: 'unavailable', code: 'crm.unavailable' }, 503, ''],
    ['an HTML page', { kind: 'translation', code: 'crm.bad_response' }, 200, '<html>oops</html>'],
  ])('when CRM answers %s, then it is %j', async (_label, expected, status, body) => {
    reply(status, status === 200 ? { 'Content-Type': 'text/html' } : {}, body);
    await expect(crm.getCustomer('C000000001', ctx)).rejects.toMatchObject(expected);
  });

  it('when CRM answers one Customer in a search, then Customers is still an array, and empty lists are []', async () => {
    const rec = (id: string) =>
      `<Customer><CustId>${id}</CustId><CustName>A</CustName><VatNo>1</VatNo><FiscalCd>1</FiscalCd><Segment>RET</Segment><Email/><Phone/>` +
      '<Street>S</Street><City>C</City><PostCode>1</PostCode><Province>MI</Province><Country>IT</Country><Iban/><PartnerId/><CreatedOn>01/02/2024</CreatedOn>' +
      '<ExternalRefs><Ref><System>TMO</System><Value>000000000000001</Value></Ref></ExternalRefs></Customer>';
    reply(200, XML, env(`<SearchCustomersResponse xmlns="urn:legacy:crm:2009"><TotalCount>1</TotalCount><Customers>${rec('C000000001')}</Customers></SearchCustomersResponse>`));
    const one = await crm.searchCustomers({ partnerId: null, segment: null, page: 1, pageSize: 10 }, ctx);
    expect(one.items).toHaveLength(1);
    expect(one.items[0]).toMatchObject({ id: 'C000000001', tmoMerchantId: '000000000000001', createdAt: '2024-02-01', ibanMasked: null });
    reply(200, XML, env('<SearchCustomersResponse xmlns="urn:legacy:crm:2009"><TotalCount>0</TotalCount><Customers/></SearchCustomersResponse>'));
    await expect(crm.searchCustomers({ partnerId: null, segment: null, page: 1, pageSize: 10 }, ctx)).resolves.toMatchObject({ items: [], total: 0 });
  });

  it('when CRM returns an IBAN in clear by mistake, then the adapter masks it', async () => {
    reply(200, XML, env(
      '<GetCustomerResponse xmlns="urn:legacy:crm:2009"><Customer><CustId>C000000001</CustId><CustName>A</CustName><VatNo>1</VatNo><FiscalCd>1</FiscalCd>' +
        '<Segment>CORP</Segment><Email/><Phone/><Street>S</Street><City>C</City><PostCode>1</PostCode><Province>MI</Province><Country>IT</Country>' +
        '<Iban>IT60X0542811101000000123456</Iban><PartnerId/><CreatedOn/><ExternalRefs/></Customer></GetCustomerResponse>',
    ));
    const c = await crm.getCustomer('C000000001', ctx);
    expect(c.ibanMasked).toBe('IT**************3456');
    expect(JSON.stringify(c)).not.toContain('0542811101');
  });
});
