/**
 * Attack suite, XML injection through API fields (issue 7): markup, CDATA terminators and
 * entity starters in a legal name or address reach TMO and CRM as text — the simulators parse
 * the real SOAP request, so what they store is what legacy would: the literal text (CRM) or its
 * upper-case ASCII transliteration (TMO), and no injected element. Control characters, DEL, C1
 * controls and bidi overrides are refused at the API with a 422 naming the field.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { toTmoText, TMO_MAX } from '../../src/translators/common/text.ts';
import { address, CLIENT_SCOPES, merchantBody, problemOf, startApiGateway, vatNumber, type ApiSetup } from './api-support.ts';

let s: ApiSetup;

beforeAll(async () => {
  s = await startApiGateway(inject('redisUrl'), { name: 'attack-injection', token: (k) => k.signToken(CLIENT_SCOPES, { subject: 'client-inj' }) });
}, 60_000);
afterAll(async () => {
  await s?.close();
});

const PAYLOADS: Array<[string, string]> = [
  ['closing tag and a forged return code', 'X</MERCH_NAME><RETURN_CODE>00</RETURN_CODE>'],
  ['CDATA terminator', 'A ]]> B <![CDATA[ C ]]>'],
  ['bare ampersand and entity', 'Rossi & Figli &amp; &lt;x&gt; &#x41; Srl'],
  ['bare less-than', 'Alfa < Beta > Gamma'],
  ['CRM field close', 'Y</CustName><Status>BLOCKED</Status>'],
];

describe('attack: XML injection through API fields', () => {
  it.each(PAYLOADS)('when the legal name carries %s, then CRM stores the literal, TMO its transliteration, nothing injected', async (_n, name) => {
    const vat = vatNumber(3_000_000_000 + name.length * 7919 + name.charCodeAt(2));
    const line1 = `Via ${name}`.slice(0, 40);
    const res = await s.call('POST', '/v1/merchants', {
      body: merchantBody(vat, { legalName: name, address: { ...address, line1 } }),
      headers: { 'Idempotency-Key': `inj-${vat}` },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const m = (await res.json()) as { legalName: string };
    expect(m.legalName).toBe(name);

    const customer = s.crm.state.customers().find((c) => c.VatNo === vat);
    expect(customer?.CustName).toBe(name);
    expect(customer?.Street).toBe(line1);
    expect(Object.keys(customer ?? {})).not.toContain('Status');
    const merchant = s.tmo.state.merchantsByVat().get(vat);
    expect(merchant?.MERCH_NAME).toBe(toTmoText(name, TMO_MAX.name));
    expect(merchant?.ADDR_LINE).toBe(toTmoText(line1, TMO_MAX.addressLine));
    // no element beyond the record's own fields appeared (an injected RETURN_CODE would be one)
    expect(Object.keys(merchant ?? {})).not.toContain('RETURN_CODE');
    expect(s.tmo.state.merchants().filter((x) => x.VAT_NO === vat)).toHaveLength(1);
  });

  it.each([
    ['NUL', '\u0000'],
    ['line feed', '\n'],
    ['escape', '\u001b[31m'],
    ['DEL', '\u007f'],
    ['C1 control (NEL)', '\u0085'],
    ['bidi override U+202E', '\u202e'],
    ['line separator U+2028', '\u2028'],
  ])('when the legal name holds a %s, then 422 naming legalName and no legacy call', async (_n, ch) => {
    const before = s.tmo.state.recentCalls().length + s.crm.state.recentCalls().length;
    const res = await s.call('POST', '/v1/merchants', {
      body: merchantBody(vatNumber(4_000_000_001), { legalName: `Acme${ch}Srl` }),
      headers: { 'Idempotency-Key': `inj-ctl-${ch.charCodeAt(0)}` },
    });
    const p = await problemOf(res, 422);
    expect(JSON.stringify(p.errors ?? p)).toContain('legalName');
    expect(s.tmo.state.recentCalls().length + s.crm.state.recentCalls().length).toBe(before);
  });

  it('when an address line holds a control character, then 422 naming address.line1', async () => {
    const res = await s.call('POST', '/v1/merchants', {
      body: merchantBody(vatNumber(4_000_000_002), { address: { ...address, line1: 'Via Roma\u00001' } }),
      headers: { 'Idempotency-Key': 'inj-ctl-addr' },
    });
    const p = await problemOf(res, 422);
    expect(JSON.stringify(p.errors ?? p)).toMatch(/address\.line1|address\/line1/);
  });
});
