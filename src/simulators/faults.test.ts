import { afterEach, describe, expect, it } from 'vitest';
import { startCrmSimulator, startTmoSimulator, type CrmSimulator, type TmoSimulator } from './index.ts';
import { call, crmClient, failure, tmoClient } from './test-support.ts';

const REG = {
  VAT_NO: '12345678901',
  MERCH_NAME: 'ACME SRL',
  MCC: '5812',
  ADDR_LINE: 'VIA ROMA 1',
  CITY: 'MILANO',
  ZIP: '20100',
  PROV: 'MI',
  COUNTRY: 'IT',
  CRM_REF: 'C000000001',
};
const CUST = {
  CustName: 'Acme Srl',
  VatNo: '12345678901',
  FiscalCd: '12345678901',
  Segment: 'RET',
  Street: 'Via Roma 1',
  City: 'Milano',
  PostCode: '20100',
  Country: 'IT',
};

const running: Array<TmoSimulator | CrmSimulator> = [];
async function tmo(opts: Parameters<typeof startTmoSimulator>[0] = {}) {
  const s = await startTmoSimulator(opts);
  running.push(s);
  return s;
}
async function crm(opts: Parameters<typeof startCrmSimulator>[0] = {}) {
  const s = await startCrmSimulator(opts);
  running.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

describe('fault injection', () => {
  it('when latencyMs is set, then answers take at least that long', async () => {
    const s = await tmo({ faults: { latencyMs: 120 } });
    const c = await tmoClient(s.url);
    const t0 = performance.now();
    await call(c, 'GetMerchant', { MID: '000000000000001' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(115);
    s.faults.set({ latencyMs: { min: 10, max: 30 } });
    expect(s.faults.get()).toEqual({ latencyMs: { min: 10, max: 30 } });
  });

  it('when TMO faultRate is 1, then every call fails half soap:Server TMO-SYS, half E901, and nothing is applied', async () => {
    const s = await tmo({ faults: { faultRate: 1 }, seed: 3 });
    const c = await tmoClient(s.url);
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      try {
        const r = await call<{ RETURN_CODE: string; RETURN_MSG: string; MID: string }>(c, 'RegisterMerchant', REG);
        expect(r).toEqual({ RETURN_CODE: 'E901', RETURN_MSG: 'SYSTEM BUSY, TRY LATER', MID: '' });
        seen.add('E901');
      } catch (e) {
        const f = await failure(Promise.reject(e));
        expect(f.status).toBe(500);
        expect(f.fault?.faultcode).toBe('soap:Server');
        expect(f.fault?.faultstring).toMatch(/^TMO-SYS/);
        seen.add('TMO-SYS');
      }
    }
    expect(seen).toEqual(new Set(['E901', 'TMO-SYS']));
    expect(s.state.merchants()).toHaveLength(0);
    expect(s.state.registerCalls(REG.VAT_NO)).toBe(0);
  });

  it('when CRM faultRate is 1, then a soap:Server fault with CrmError CRM-500 and nothing is applied', async () => {
    const s = await crm({ faults: { faultRate: 1 } });
    const c = await crmClient(s.url);
    const f = await failure(call(c, 'CreateCustomer', { Customer: CUST }));
    expect(f.status).toBe(500);
    expect(f.fault).toEqual({
      faultcode: 'soap:Server',
      faultstring: 'CRM-500',
      detail: { CrmError: { Code: 'CRM-500', Text: 'Internal error, retry later' } },
    });
    expect(s.state.customers()).toHaveLength(0);
  });

  it('when an outage window is on, then HTTP 503 with an empty body on both systems, and normal service after it', async () => {
    const t = await tmo();
    const k = await crm();
    const tc = await tmoClient(t.url);
    const kc = await crmClient(k.url);
    t.faults.outageFor(60_000);
    k.faults.set({ outage: { from: Date.now() - 1000, until: Date.now() + 60_000 } });
    for (const f of [await failure(call(tc, 'RegisterMerchant', REG)), await failure(call(kc, 'CreateCustomer', { Customer: CUST }))]) {
      expect(f.status).toBe(503);
      expect(f.body ?? '').toBe('');
      expect(f.fault).toBeUndefined();
    }
    t.faults.set({ outage: { from: 0, until: Date.now() - 1 } });
    expect((await call<{ RETURN_CODE: string }>(tc, 'RegisterMerchant', REG)).RETURN_CODE).toBe('00');
  });

  it('when hangAfterApplyMs exceeds the client timeout, then the client times out but the change is applied exactly once', async () => {
    const s = await tmo({ faults: { hangAfterApplyMs: 1_000 } });
    const c = await tmoClient(s.url);
    const f = await failure(call(c, 'RegisterMerchant', REG, { timeout: 150 }));
    expect(f.code).toBe('ECONNABORTED');
    expect(s.state.merchantsByVat().get(REG.VAT_NO)?.MID).toBe('000000000000001');
    // Reads are not delayed, so the caller can reconcile.
    const t0 = performance.now();
    await call(c, 'GetMerchant', { MID: '000000000000001' });
    expect(performance.now() - t0).toBeLessThan(500);
    const k = await crm({ faults: { hangAfterApplyMs: 1_000 } });
    const kc = await crmClient(k.url);
    expect((await failure(call(kc, 'CreateCustomer', { Customer: CUST }, { timeout: 150 }))).code).toBe('ECONNABORTED');
    expect(k.state.customersByVat().get(CUST.VatNo)?.CustId).toBe('C000000001');
  });

  it('when a fault config is invalid, then set() throws RangeError and keeps the previous one', async () => {
    const s = await tmo({ faults: { faultRate: 0.5 } });
    expect(() => s.faults.set({ faultRate: 2 })).toThrow(RangeError);
    expect(() => s.faults.set({ latencyMs: { min: 5, max: 1 } })).toThrow(RangeError);
    expect(s.faults.get()).toEqual({ faultRate: 0.5 });
    s.faults.reset();
    expect(s.faults.get()).toEqual({});
  });
});

describe('control endpoint', () => {
  it('when PUT /_sim/faults is called, then the config is replaced and GET returns it; invalid JSON answers 400', async () => {
    const s = await tmo({ faults: { latencyMs: 5 } });
    const base = s.url.replace(/\/tmo$/, '');
    const put = await fetch(`${base}/_sim/faults`, { method: 'PUT', body: JSON.stringify({ faultRate: 0.25 }) });
    expect(put.status).toBe(200);
    expect(await (await fetch(`${base}/_sim/faults`)).json()).toEqual({ faultRate: 0.25 });
    expect(s.faults.get()).toEqual({ faultRate: 0.25 });
    const bad = await fetch(`${base}/_sim/faults`, { method: 'PUT', body: JSON.stringify({ faultRate: 'lots' }) });
    expect(bad.status).toBe(400);
    expect((await fetch(`${base}/_sim/faults`, { method: 'PUT', body: '{' })).status).toBe(400);
  });

  it('when GET /_sim/state/summary is called, then counts only, nothing sensitive', async () => {
    const s = await crm();
    const c = await crmClient(s.url);
    await call(c, 'CreateCustomer', { Customer: { ...CUST, Iban: 'IT60X0542811101000000123456' } });
    const res = await fetch(`${s.url.replace(/\/crm$/, '')}/_sim/state/summary`);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ system: 'CRM', customers: 1 });
    expect(text).not.toMatch(/IT60|12345678901|Acme/);
  });

  it('when the WSDL is requested with ?wsdl, then the fixture is served', async () => {
    const s = await tmo();
    const res = await fetch(`${s.url}?wsdl`);
    expect(await res.text()).toContain('targetNamespace="urn:legacy:tmo:v3"');
  });
});

describe('lifecycle', () => {
  it('when close() is called twice, then both resolve and the port is released', async () => {
    const s = await startTmoSimulator();
    await s.close();
    await s.close();
    await expect(fetch(`${s.url}?wsdl`)).rejects.toThrow();
  });

  it('when a CRM request is not well-formed, then CRM-400 naming Body', async () => {
    const s = await crm();
    const res = await fetch(s.url, { method: 'POST', headers: { soapaction: 'GetCustomer', 'content-type': 'text/xml' }, body: '<a><b>' });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).toContain('<faultstring>CRM-400</faultstring>');
    expect(text).toContain('Validation failed: Body is not a well-formed request');
  });
});
