// HTTP-level oddities of a real network, injected with undici's MockAgent as the adapters'
// dispatcher (the transport is an undici Pool, which msw cannot see): no endpoint on the
// network at all (http://tmo.test, http://crm.test). The answers are written as Fetch API
// `Response`s and handed to the MockAgent. Every oddity → a classified domain error whose
// message, JSON and cause hold neither the response body, nor the credentials, nor the IBAN
// the request carried.
// (http-oddities.test.ts covers the byte-level cases a mock cannot fake: resets, cut bodies, timeouts.)
import { MockAgent } from 'undici';
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
const ctx = { requestId: 'mock-odd-1' };

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

/** The same kind of bytes streamed in chunks without a Content-Length (chunked transfer), 8 MiB in all. */
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

/** A connection-level failure (what msw's `HttpResponse.error()` was): no HTTP answer at all. */
const NETWORK_ERROR = Symbol('network error');
type Reply = ((request: Request, bodyText: string) => Response) | typeof NETWORK_ERROR;

const agent = new MockAgent({ enableCallHistory: true });
agent.disableNetConnect();

/** undici hands request headers over as a flat `[name, value, …]` array or a record. */
function headersOf(raw: unknown): Headers {
  const h = new Headers();
  if (Array.isArray(raw)) for (let i = 0; i + 1 < raw.length; i += 2) h.append(String(raw[i]), String(raw[i + 1]));
  else if (raw && typeof raw === 'object') for (const [k, v] of Object.entries(raw)) h.append(k, String(v));
  return h;
}

/** The next POST to `url` gets `reply`'s answer (status, headers and body bytes as written). */
function arm(url: string, reply: Reply): void {
  const u = new URL(url);
  const scope = agent.get(u.origin).intercept({ path: u.pathname, method: 'POST' });
  if (reply === NETWORK_ERROR) {
    scope.replyWithError(new TypeError('fetch failed'));
    return;
  }
  scope.reply((opts) => {
    const body = String(opts.body ?? '');
    const response = reply(new Request(url, { method: 'POST', headers: headersOf(opts.headers), body }), body);
    return {
      statusCode: response.status,
      data: () => response.arrayBuffer().then((b) => Buffer.from(b)),
      responseOptions: { headers: Object.fromEntries(response.headers) },
    };
  });
}

/** What the MockAgent saw, oldest first. */
function seen(): { url: string; soapAction: string | null; authorization: string | null; body: string }[] {
  return (agent.getCallHistory()?.calls() ?? []).map((c) => {
    const h = headersOf(c.headers);
    return { url: c.fullUrl, soapAction: h.get('soapaction'), authorization: h.get('authorization'), body: String(c.body ?? '') };
  });
}

/** Keeps every adapter log line for the assertions, and sends it to the run's leak check too. */
function recordingCapturedLogger(): AdapterLogger & { lines: string[] } {
  const captured = createCapturedLogger({ name: 'mock-agent-oddities' });
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
  // A huge breaker volume: one call at a time is looked at here, not the circuit.
  const breaker = { errorThresholdPercentage: 50, volumeThreshold: 10_000, resetTimeoutMs: 1000, rollingWindowMs: 10_000 };
  tmo = await createTmoAdapter(tmoOptions(TMO_URL, { ...TMO_CREDS, breaker, timeoutMs: 5000, timeZone: 'Europe/Rome', logger, dispatcher: agent }));
  crm = await createCrmAdapter(crmOptions(CRM_URL, { ...CRM_CREDS, breaker, timeoutMs: 5000, logger, dispatcher: agent }));
});
afterEach(() => {
  // every armed answer was used by exactly the one call the test made
  agent.assertNoPendingInterceptors();
  agent.clearCallHistory();
});
afterAll(async () => {
  await tmo.close();
  await crm.close();
  await agent.close();
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

describe('MockAgent: the adapters’ undici transport is intercepted', () => {
  it('when TMO answers a well-formed envelope through the MockAgent, then the call succeeds and the agent saw the real request', async () => {
    arm(TMO_URL, () => new Response(TERMINAL_OK, { status: 200, headers: XML }));
    await expect(tmo.getTerminal('T0000001', ctx)).resolves.toMatchObject({ id: 'T0000001', serialNumber: 'SN1' });
    expect(seen()).toHaveLength(1);
    expect(seen()[0]).toMatchObject({ url: TMO_URL, soapAction: '"GetTerminal"', authorization: expect.stringMatching(/^Basic /) });
  });

  it('when CRM answers a well-formed envelope through the MockAgent, then CreateCustomer succeeds (the IBAN went out only in the SOAP body)', async () => {
    arm(CRM_URL, () => new Response(CREATED_OK, { status: 200, headers: XML }));
    await expect(crm.createCustomer(NEW, ctx)).resolves.toEqual({ id: 'C000000001', created: true });
    expect(seen()[0]?.body).toContain(IBAN);
    expect(seen()[0]?.soapAction).toBe('"CreateCustomer"');
  });
});

describe('MockAgent: HTTP-level oddities → classified, sanitised errors', () => {
  const html = { 'Content-Type': 'text/html; charset=utf-8' };
  it.each<[string, Reply, { kind: string; code: string; retryable?: boolean }]>([
    ['an HTML error page from a proxy (502)', (r, b) => new Response(proxyPage(r, b), { status: 502, headers: html }), { kind: 'unavailable', code: 'tmo.unavailable', retryable: true }],
    ['an HTML error page from a proxy (504)', (r, b) => new Response(proxyPage(r, b), { status: 504, headers: html }), { kind: 'unavailable', code: 'tmo.unavailable' }],
    ['an HTML login page from a proxy (200)', (r, b) => new Response(proxyPage(r, b), { status: 200, headers: html }), { kind: 'translation', code: 'tmo.bad_response', retryable: false }],
    ['an HTML page from a proxy (403)', (r, b) => new Response(proxyPage(r, b), { status: 403, headers: html }), { kind: 'unavailable', code: 'tmo.auth_failed', retryable: false }],
    ['truncated XML', () => new Response(`${TERMINAL_OK.slice(0, 220)}${MARKER}`, { status: 200, headers: XML }), { kind: 'translation', code: 'tmo.bad_response' }],
    ['the wrong content type (JSON)', () => Response.json({ RETURN_CODE: '00', note: MARKER }), { kind: 'translation', code: 'tmo.bad_response' }],
    ['the wrong content type (text/plain holding the envelope)', () => new Response(TERMINAL_OK, { status: 200, headers: { 'Content-Type': 'text/plain' } }), { kind: 'translation', code: 'tmo.bad_response' }],
    ['a huge response with a Content-Length', () => new Response(HUGE, { status: 200, headers: { ...XML, 'Content-Length': String(Buffer.byteLength(HUGE)) } }), { kind: 'translation', code: 'tmo.response_too_large' }],
    ['a huge response streamed without a length', (r) => new Response(hugeStream(r), { status: 200, headers: XML }), { kind: 'translation', code: 'tmo.response_too_large' }],
    ['a network error', NETWORK_ERROR, { kind: 'unavailable', code: 'tmo.unreachable' }],
  ])('when TMO answers %s, then it is %j', async (_label, r, expected) => {
    arm(TMO_URL, r);
    const err = await tmo.getTerminal('T0000001', ctx).then(
      () => new Error('expected a failure'),
      (e: unknown) => e,
    );
    expect(err).toMatchObject(expected);
    expectSanitized(err);
    expect(seen()).toHaveLength(1);
  });

  it.each<[string, Reply, { kind: string; code: string }]>([
    ['an HTML error page from a proxy (502)', (r, b) => new Response(proxyPage(r, b), { status: 502, headers: html }), { kind: 'unavailable', code: 'crm.unavailable' }],
    ['an HTML page with 200', (r, b) => new Response(proxyPage(r, b), { status: 200, headers: html }), { kind: 'translation', code: 'crm.bad_response' }],
    ['truncated XML', () => new Response(`${CREATED_OK.slice(0, 180)}${MARKER}`, { status: 200, headers: XML }), { kind: 'translation', code: 'crm.bad_response' }],
    ['the wrong content type (JSON)', () => Response.json({ CustId: 'C000000001', note: MARKER }), { kind: 'translation', code: 'crm.bad_response' }],
    ['a huge response with a Content-Length', () => new Response(HUGE, { status: 200, headers: { ...XML, 'Content-Length': String(Buffer.byteLength(HUGE)) } }), { kind: 'translation', code: 'crm.response_too_large' }],
    ['a huge response streamed without a length', (r) => new Response(hugeStream(r), { status: 200, headers: XML }), { kind: 'translation', code: 'crm.response_too_large' }],
  ])('when CRM answers CreateCustomer (IBAN, WS-Security password in the request) with %s, then it is %j', async (_label, r, expected) => {
    arm(CRM_URL, r);
    const err = await crm.createCustomer(NEW, ctx).then(
      () => new Error('expected a failure'),
      (e: unknown) => e,
    );
    expect(err).toMatchObject(expected);
    expectSanitized(err);
    // the request really carried what must not leak, so the check above is meaningful
    expect(seen()[0]?.body).toContain(IBAN);
  });
});
