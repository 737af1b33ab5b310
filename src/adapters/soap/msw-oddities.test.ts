// HTTP-level oddities of a real network, injected with msw (Mock Service Worker) at the
// node:http level instead of a socket server: the adapters' keep-alive transport is
// intercepted as it is (no endpoint on the network at all: http://tmo.test, http://crm.test).
// Every oddity → a classified domain error whose message, JSON and cause hold neither the
// response body, nor the credentials, nor the IBAN the request carried.
// (http-oddities.test.ts covers the byte-level cases msw cannot fake: resets, cut bodies, timeouts.)
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NewCustomer } from '../../domain/model.ts';
import { TEST_IBANS, TEST_PASSWORDS, TEST_USERNAMES, createCapturedLogger, findLeaks } from '../../../test/support/log-capture.ts';
import { createCrmAdapter, type CrmAdapter } from './crm-adapter.ts';
import type { AdapterLogger } from './resilience.ts';
import { crmOptions, tmoOptions } from './testing/options.ts';
import { createTmoAdapter, type TmoAdapter } from './tmo-adapter.ts';

const TMO_URL = 'http://tmo.test/tmo';
const CRM_URL = 'http://crm.test/crm';
const IBAN = TEST_IBANS[0] ?? 'IT60X0542811101000000123456';
const TMO_CREDS = { username: TEST_USERNAMES[1] ?? 'GW-TEST', password: TEST_PASSWORDS[0] ?? 'Tmo-Test-Pa55w0rd' };
const CRM_CREDS = { username: TEST_USERNAMES[0] ?? 'gw-test', password: TEST_PASSWORDS[1] ?? 'crm&Test<Pa55>"w0rd"' };
const ctx = { requestId: 'msw-odd-1' };

const NEW: NewCustomer = {
  name: 'Caffè Società Srl',
  vatNumber: '12345678901',
  taxCode: '12345678901',
  segment: 'retail',
  email: null,
  phone: null,
  address: { line1: 'Via Roma 1', city: 'Milano', postalCode: '20121', province: 'MI', country: 'IT' },
  iban: IBAN,
  partnerId: null,
};

/** Text only a leaked response body could put into an error. */
const MARKER = 'PROXY-BODY-MARKER-7f3a';
const XML = { 'Content-Type': 'text/xml; charset=utf-8' };
const env = (body: string) =>
  `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>${body}</soap:Body></soap:Envelope>`;
const TERMINAL_OK = env(
  '<t:GetTerminalResponse xmlns:t="urn:legacy:tmo:v3"><t:RETURN_CODE>00</t:RETURN_CODE><t:RETURN_MSG>OK</t:RETURN_MSG><t:TERMINAL>' +
    '<t:TID>T0000001</t:TID><t:MID>000000000012345</t:MID><t:MODEL>A920</t:MODEL><t:SERIAL_NO>SN1</t:SERIAL_NO><t:STATUS>AC</t:STATUS>' +
    '<t:CONTACTLESS>Y</t:CONTACTLESS><t:CURRENCY>EUR</t:CURRENCY><t:LAST_SEEN_DATE>20240715</t:LAST_SEEN_DATE><t:LAST_SEEN_TIME>103000</t:LAST_SEEN_TIME>' +
    '</t:TERMINAL></t:GetTerminalResponse>',
);
const CREATED_OK = env('<CreateCustomerResponse xmlns="urn:legacy:crm:2009"><CustId>C000000001</CustId></CreateCustomerResponse>');

/** A proxy error page that echoes what it was sent: the request's IBAN and Basic header included. */
function proxyPage(request: Request, bodyText: string): string {
  return (
    `<html><head><title>502 Bad Gateway</title></head><body><h1>${MARKER}</h1>` +
    `<pre>${request.headers.get('authorization') ?? ''}\n${bodyText}</pre><p>${IBAN} ${TMO_CREDS.password}</p></body></html>`
  );
}

/** 6 MiB: above the adapters' default 5 MiB response cap. */
const HUGE = `${TERMINAL_OK.slice(0, 300)}${'X'.repeat(6 * 1024 * 1024)}`;

/**
 * The same bytes streamed in chunks without a Content-Length (chunked transfer). It stops once
 * the client went away: msw's mock socket would otherwise keep pushing chunks into the socket
 * the adapter destroyed at its cap, and Node's HTTP parser asserts on data for a dead request.
 */
function hugeStream(request: Request): ReadableStream<Uint8Array> {
  const chunk = new TextEncoder().encode(`${MARKER}${'Y'.repeat(64 * 1024)}`);
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      await new Promise((r) => setImmediate(r));
      if (request.signal.aborted || sent * chunk.length > 8 * 1024 * 1024) {
        controller.close();
        return;
      }
      sent += 1;
      controller.enqueue(chunk);
    },
  });
}

type Reply = (request: Request, bodyText: string) => Response;
let reply: Reply = () => new HttpResponse(null, { status: 500 });
const seen: { url: string; soapAction: string | null; authorization: string | null; body: string }[] = [];

const server = setupServer(
  http.post(TMO_URL, async ({ request }) => {
    const body = await request.text();
    seen.push({ url: request.url, soapAction: request.headers.get('soapaction'), authorization: request.headers.get('authorization'), body });
    return reply(request, body);
  }),
  http.post(CRM_URL, async ({ request }) => {
    const body = await request.text();
    seen.push({ url: request.url, soapAction: request.headers.get('soapaction'), authorization: request.headers.get('authorization'), body });
    return reply(request, body);
  }),
);

/** Keeps every adapter log line for the assertions, and sends it to the run's leak check too. */
function recordingCapturedLogger(): AdapterLogger & { lines: string[] } {
  const captured = createCapturedLogger({ name: 'msw-oddities' });
  const lines: string[] = [];
  const log = (level: 'warn' | 'error' | 'debug') => (obj: Record<string, unknown>, msg?: string) => {
    lines.push(`${level} ${JSON.stringify(obj)} ${msg ?? ''}`);
    captured[level](obj, msg);
  };
  return { lines, warn: log('warn'), error: log('error'), debug: log('debug') };
}

const logger = recordingCapturedLogger();
let tmo: TmoAdapter;
let crm: CrmAdapter;

beforeAll(async () => {
  server.listen({ onUnhandledRequest: 'error' });
  // A huge breaker volume: one call at a time is looked at here, not the circuit.
  const breaker = { errorThresholdPercentage: 50, volumeThreshold: 10_000, resetTimeoutMs: 1000, rollingWindowMs: 10_000 };
  tmo = await createTmoAdapter(tmoOptions(TMO_URL, { ...TMO_CREDS, breaker, timeoutMs: 5000, timeZone: 'Europe/Rome', logger }));
  crm = await createCrmAdapter(crmOptions(CRM_URL, { ...CRM_CREDS, breaker, timeoutMs: 5000, logger }));
});
afterEach(() => {
  seen.length = 0;
  reply = () => new HttpResponse(null, { status: 500 });
});
afterAll(async () => {
  await tmo.close();
  await crm.close();
  server.close();
  // Whatever happened in this file, no adapter log line carried the IBAN, a password or a body.
  const all = logger.lines.join('\n');
  expect(findLeaks(all, 'adapter log').map((l) => l.label)).toEqual([]);
  for (const fragment of [MARKER, 'Bad Gateway']) expect(all).not.toContain(fragment);
});

/** Everything an error could show: message, JSON form, cause chain, stack. */
function dump(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let i = 0; i < 5 && e !== undefined && e !== null; i += 1) {
    parts.push(String((e as Error).message), String((e as Error).stack), JSON.stringify(e));
    e = (e as Error).cause;
  }
  return parts.join('\n');
}

function expectSanitized(err: unknown): void {
  const text = dump(err);
  // every form of the test IBANs and passwords the run-wide leak check knows (escaped, base64, Basic…)
  expect(findLeaks(text, 'error').map((l) => l.label)).toEqual([]);
  // and nothing of the response body
  for (const fragment of [MARKER, 'Bad Gateway', '<html', 'Envelope', 'RETURN_CODE', 'Basic ']) expect(text).not.toContain(fragment);
}

describe('msw: the adapters’ node:http transport is intercepted', () => {
  it('when TMO answers a well-formed envelope through msw, then the call succeeds and msw saw the real request', async () => {
    reply = () => new HttpResponse(TERMINAL_OK, { status: 200, headers: XML });
    await expect(tmo.getTerminal('T0000001', ctx)).resolves.toMatchObject({ id: 'T0000001', serialNumber: 'SN1' });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ url: TMO_URL, soapAction: '"GetTerminal"', authorization: expect.stringMatching(/^Basic /) });
  });

  it('when CRM answers a well-formed envelope through msw, then CreateCustomer succeeds (the IBAN went out only in the SOAP body)', async () => {
    reply = () => new HttpResponse(CREATED_OK, { status: 200, headers: XML });
    await expect(crm.createCustomer(NEW, ctx)).resolves.toEqual({ id: 'C000000001', created: true });
    expect(seen[0]?.body).toContain(IBAN);
    expect(seen[0]?.soapAction).toBe('"CreateCustomer"');
  });
});

describe('msw: HTTP-level oddities → classified, sanitised errors', () => {
  const html = { 'Content-Type': 'text/html; charset=utf-8' };
  it.each<[string, Reply, { kind: string; code: string; retryable?: boolean }]>([
    ['an HTML error page from a proxy (502)', (r, b) => new HttpResponse(proxyPage(r, b), { status: 502, headers: html }), { kind: 'unavailable', code: 'tmo.unavailable', retryable: true }],
    ['an HTML error page from a proxy (504)', (r, b) => new HttpResponse(proxyPage(r, b), { status: 504, headers: html }), { kind: 'unavailable', code: 'tmo.unavailable' }],
    ['an HTML login page from a proxy (200)', (r, b) => new HttpResponse(proxyPage(r, b), { status: 200, headers: html }), { kind: 'translation', code: 'tmo.bad_response', retryable: false }],
    ['an HTML page from a proxy (403)', (r, b) => new HttpResponse(proxyPage(r, b), { status: 403, headers: html }), { kind: 'unavailable', code: 'tmo.auth_failed', retryable: false }],
    ['truncated XML', () => new HttpResponse(`${TERMINAL_OK.slice(0, 220)}${MARKER}`, { status: 200, headers: XML }), { kind: 'translation', code: 'tmo.bad_response' }],
    ['the wrong content type (JSON)', () => HttpResponse.json({ RETURN_CODE: '00', note: MARKER }), { kind: 'translation', code: 'tmo.bad_response' }],
    ['the wrong content type (text/plain holding the envelope)', () => new HttpResponse(TERMINAL_OK, { status: 200, headers: { 'Content-Type': 'text/plain' } }), { kind: 'translation', code: 'tmo.bad_response' }],
    ['a huge response with a Content-Length', () => new HttpResponse(HUGE, { status: 200, headers: { ...XML, 'Content-Length': String(Buffer.byteLength(HUGE)) } }), { kind: 'translation', code: 'tmo.response_too_large' }],
    ['a huge response streamed without a length', (r) => new HttpResponse(hugeStream(r), { status: 200, headers: XML }), { kind: 'translation', code: 'tmo.response_too_large' }],
    ['a network error', () => HttpResponse.error(), { kind: 'unavailable', code: 'tmo.unreachable' }],
  ])('when TMO answers %s, then it is %j', async (_label, r, expected) => {
    reply = r;
    const err = await tmo.getTerminal('T0000001', ctx).then(
      () => new Error('expected a failure'),
      (e: unknown) => e,
    );
    expect(err).toMatchObject(expected);
    expectSanitized(err);
    expect(seen).toHaveLength(1);
  });

  it.each<[string, Reply, { kind: string; code: string }]>([
    ['an HTML error page from a proxy (502)', (r, b) => new HttpResponse(proxyPage(r, b), { status: 502, headers: html }), { kind: 'unavailable', code: 'crm.unavailable' }],
    ['an HTML page with 200', (r, b) => new HttpResponse(proxyPage(r, b), { status: 200, headers: html }), { kind: 'translation', code: 'crm.bad_response' }],
    ['truncated XML', () => new HttpResponse(`${CREATED_OK.slice(0, 180)}${MARKER}`, { status: 200, headers: XML }), { kind: 'translation', code: 'crm.bad_response' }],
    ['the wrong content type (JSON)', () => HttpResponse.json({ CustId: 'C000000001', note: MARKER }), { kind: 'translation', code: 'crm.bad_response' }],
    ['a huge response with a Content-Length', () => new HttpResponse(HUGE, { status: 200, headers: { ...XML, 'Content-Length': String(Buffer.byteLength(HUGE)) } }), { kind: 'translation', code: 'crm.response_too_large' }],
    ['a huge response streamed without a length', (r) => new HttpResponse(hugeStream(r), { status: 200, headers: XML }), { kind: 'translation', code: 'crm.response_too_large' }],
  ])('when CRM answers CreateCustomer (IBAN, WS-Security password in the request) with %s, then it is %j', async (_label, r, expected) => {
    reply = r;
    const err = await crm.createCustomer(NEW, ctx).then(
      () => new Error('expected a failure'),
      (e: unknown) => e,
    );
    expect(err).toMatchObject(expected);
    expectSanitized(err);
    // the request really carried what must not leak, so the check above is meaningful
    expect(seen[0]?.body).toContain(IBAN);
  });
});
