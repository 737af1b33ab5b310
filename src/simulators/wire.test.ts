import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCrmSimulator, startTmoSimulator, type CrmSimulator, type TmoSimulator } from './index.ts';

const ENV = 'http://schemas.xmlsoap.org/soap/envelope/';
const WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
const BASIC = `Basic ${Buffer.from('gateway:gateway-dev-secret').toString('base64')}`;

function post(url: string, action: string, body: string, auth?: string) {
  const headers: Record<string, string> = { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${action}"` };
  if (auth) headers.authorization = auth;
  return fetch(url, { method: 'POST', headers, body });
}

const tmoEnvelope = (op: string) =>
  `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="${ENV}"><s:Body>${op}</s:Body></s:Envelope>`;
const wsse = (ns = WSSE) =>
  `<w:Security xmlns:w="${ns}"><w:UsernameToken><w:Username>gateway</w:Username><w:Password>gateway-dev-secret</w:Password></w:UsernameToken></w:Security>`;
const crmEnvelope = (op: string, header = wsse()) =>
  `<?xml version="1.0" encoding="utf-8"?><soapenv:Envelope xmlns:soapenv="${ENV}"><soapenv:Header>${header}</soapenv:Header><soapenv:Body>${op}</soapenv:Body></soapenv:Envelope>`;

describe('wire strictness (hand-written envelopes, as a non-node-soap client sends them)', () => {
  let tmo: TmoSimulator;
  let crm: CrmSimulator;
  beforeAll(async () => {
    tmo = await startTmoSimulator();
    crm = await startCrmSimulator();
  });
  afterAll(async () => {
    await tmo.close();
    await crm.close();
  });

  it('when every element is prefix-qualified with the TMO namespace, then the call is answered normally', async () => {
    const res = await post(
      tmo.url,
      'GetMerchant',
      tmoEnvelope('<t:GetMerchant xmlns:t="urn:legacy:tmo:v3"><t:MID>000000000000001</t:MID></t:GetMerchant>'),
      BASIC,
    );
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('<RETURN_CODE>E201</RETURN_CODE>');
    expect(text).toContain('xmlns="urn:legacy:tmo:v3"');
  });

  it('when a child element is unqualified (elementFormDefault=qualified), then TMO-VAL naming it', async () => {
    const res = await post(
      tmo.url,
      'GetMerchant',
      tmoEnvelope('<t:GetMerchant xmlns:t="urn:legacy:tmo:v3"><MID>000000000000001</MID></t:GetMerchant>'),
      BASIC,
    );
    expect(res.status).toBe(500);
    expect(await res.text()).toContain('<faultstring>TMO-VAL: ELEMENT MID NOT IN NAMESPACE urn:legacy:tmo:v3</faultstring>');
  });

  it('when the envelope is SOAP 1.2, then TMO-VAL', async () => {
    const body = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetMerchant xmlns="urn:legacy:tmo:v3"><MID>1</MID></GetMerchant></s:Body></s:Envelope>`;
    const res = await post(tmo.url, 'GetMerchant', body, BASIC);
    expect(await res.text()).toContain('TMO-VAL: ELEMENT Envelope NOT IN NAMESPACE');
  });

  it('when the body element is not the SOAPAction operation, then TMO-VAL and nothing is applied', async () => {
    const res = await post(
      tmo.url,
      'RegisterMerchant',
      tmoEnvelope('<GetMerchant xmlns="urn:legacy:tmo:v3"><MID>000000000000001</MID></GetMerchant>'),
      BASIC,
    );
    expect(await res.text()).toContain('<faultstring>TMO-VAL: MALFORMED REQUEST</faultstring>');
    expect(tmo.state.callCounts().RegisterMerchant).toBe(0);
  });

  it('when the SOAPAction header is missing, then TMO-VAL', async () => {
    const res = await fetch(tmo.url, {
      method: 'POST',
      headers: { 'content-type': 'text/xml', authorization: BASIC },
      body: tmoEnvelope('<GetMerchant xmlns="urn:legacy:tmo:v3"><MID>000000000000001</MID></GetMerchant>'),
    });
    expect(await res.text()).toContain('<faultstring>TMO-VAL: MISSING SOAPACTION</faultstring>');
  });

  it('when the CRM token has no Type attribute (PasswordText is the default), then it is accepted', async () => {
    const res = await post(crm.url, 'GetCustomer', crmEnvelope('<GetCustomer xmlns="urn:legacy:crm:2009"><CustId>C000000001</CustId></GetCustomer>'));
    expect(await res.text()).toContain('<tns:Code>CRM-404</tns:Code>');
  });

  it('when the Security header is not in the WSS 1.0 namespace, then CRM-AUTH', async () => {
    const res = await post(
      crm.url,
      'GetCustomer',
      crmEnvelope('<GetCustomer xmlns="urn:legacy:crm:2009"><CustId>C000000001</CustId></GetCustomer>', wsse('urn:wrong')),
    );
    expect(res.status).toBe(500);
    expect(await res.text()).toContain('<faultstring>CRM-AUTH</faultstring>');
  });

  it('when a CRM child element is unqualified, then CRM-400 naming it', async () => {
    const res = await post(crm.url, 'GetCustomer', crmEnvelope('<c:GetCustomer xmlns:c="urn:legacy:crm:2009"><CustId>C000000001</CustId></c:GetCustomer>'));
    expect(await res.text()).toContain('Validation failed: CustId is not in namespace urn:legacy:crm:2009');
  });

  it('when a CRM fault is answered, then the CrmError detail is namespace-qualified', async () => {
    const res = await post(crm.url, 'GetCustomer', crmEnvelope('<GetCustomer xmlns="urn:legacy:crm:2009"><CustId>C000000001</CustId></GetCustomer>'));
    expect(await res.text()).toContain(
      '<detail><tns:CrmError xmlns:tns="urn:legacy:crm:2009"><tns:Code>CRM-404</tns:Code><tns:Text>Customer C000000001 not found</tns:Text></tns:CrmError></detail>',
    );
  });
});
