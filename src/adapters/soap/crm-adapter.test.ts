// The CRM adapter against the in-process CRM simulator: every operation, every CrmError code
// and fault of CONTRACT.md, WS-Security, IBAN masking and the circuit breaker.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { NewCustomer } from '../../domain/model.ts';
import { startCrmSimulator, type CrmSimulator } from '../../simulators/index.ts';
import { createCrmAdapter, type CrmAdapter } from './crm-adapter.ts';
import { crmOptions, DEV, recordingLogger } from './testing/options.ts';

const ctx = { requestId: 'req-crm-1' };
const IBAN = 'IT60X0542811101000000123456';

const NEW: NewCustomer = {
  name: 'Caffè Società Srl',
  vatNumber: '12345678901',
  taxCode: '12345678901',
  segment: 'retail',
  email: 'info@caffe.example',
  phone: null,
  address: { line1: 'Via Roma 1', city: 'Forlì', postalCode: '47121', province: 'FC', country: 'IT' },
  iban: IBAN,
  partnerId: null,
};

let sim: CrmSimulator;
let crm: CrmAdapter;
const logger = recordingLogger();

beforeAll(async () => {
  sim = await startCrmSimulator({ port: 0, credentials: DEV });
  crm = await createCrmAdapter(crmOptions(sim.url, { logger }));
});
afterAll(async () => {
  await crm.close();
  await sim.close();
  // Whatever happened in this file, no log line ever carried the IBAN or the password.
  expect(logger.lines.join('\n')).not.toMatch(/0542811101|gateway-dev-secret/);
});
beforeEach(() => {
  sim.faults.reset();
  sim.state.reset();
});

describe('CRM adapter, happy paths', () => {
  it('when a customer is created, then CRM keeps UTF-8 and the IBAN, and the new id comes back', async () => {
    const res = await crm.createCustomer(NEW, ctx);
    expect(res).toEqual({ id: expect.stringMatching(/^C\d{9}$/), created: true });
    expect(sim.state.customer(res.id)).toMatchObject({ CustName: 'Caffè Società Srl', City: 'Forlì' });
    expect(sim.state.clearIban(res.id)).toBe(IBAN);
  });

  it('when the VAT number already exists (CRM-409), then the existing id comes back with created false', async () => {
    const { id } = await crm.createCustomer(NEW, ctx);
    await expect(crm.createCustomer({ ...NEW, name: 'Other' }, ctx)).resolves.toEqual({ id, created: false });
  });

  it('when a customer is read, then it is clean, the IBAN is masked and the TMO ref is the merchant id', async () => {
    const { id } = await crm.createCustomer(NEW, ctx);
    await crm.addExternalRef(id, 'TMO', '000000000012345', ctx);
    const c = await crm.getCustomer(id, ctx);
    expect(c).toEqual({
      id,
      name: 'Caffè Società Srl',
      vatNumber: '12345678901',
      taxCode: '12345678901',
      segment: 'retail',
      email: 'info@caffe.example',
      phone: null,
      address: { line1: 'Via Roma 1', city: 'Forlì', postalCode: '47121', province: 'FC', country: 'IT' },
      ibanMasked: expect.stringMatching(/^IT\*+3456$/),
      partnerId: null,
      createdAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
      tmoMerchantId: '000000000012345',
    });
    expect(JSON.stringify(c)).not.toContain('0542811101');
  });

  it('when a customer has no external refs, then tmoMerchantId is null', async () => {
    const { id } = await crm.createCustomer(NEW, ctx);
    await expect(crm.getCustomer(id, ctx)).resolves.toMatchObject({ tmoMerchantId: null });
  });

  it('when a customer is patched, then only the given fields change and the ISO date comes back', async () => {
    const { id } = await crm.createCustomer(NEW, ctx);
    const res = await crm.updateCustomer(id, { email: 'new@caffe.example', address: { city: 'Cesena' } }, ctx);
    expect(res.updatedAt).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(sim.state.customer(id)).toMatchObject({ Email: 'new@caffe.example', City: 'Cesena', Street: 'Via Roma 1', CustName: 'Caffè Società Srl' });
  });

  it.each([
    [0, { partnerId: null, segment: null, page: 1, pageSize: 10 }, 0, 0],
    [1, { partnerId: null, segment: null, page: 1, pageSize: 10 }, 1, 1],
    [3, { partnerId: null, segment: 'retail' as const, page: 2, pageSize: 2 }, 3, 1],
    [3, { partnerId: null, segment: 'partner' as const, page: 1, pageSize: 10 }, 0, 0],
  ])('when %i customers exist and %j is searched, then total %i and %i items come back as an array', async (n, search, total, items) => {
    for (let i = 0; i < n; i += 1) await crm.createCustomer({ ...NEW, vatNumber: `1234567890${i}` }, ctx);
    const res = await crm.searchCustomers(search, ctx);
    expect(res).toMatchObject({ total, page: search.page, pageSize: search.pageSize });
    expect(res.items).toHaveLength(items);
  });

  it('when merchants of a partner are searched, then only those come back', async () => {
    const partner = await crm.createCustomer({ ...NEW, vatNumber: '99999999999', segment: 'partner', iban: null }, ctx);
    await crm.createCustomer({ ...NEW, vatNumber: '11111111111', partnerId: partner.id }, ctx);
    await crm.createCustomer({ ...NEW, vatNumber: '22222222222' }, ctx);
    const res = await crm.searchCustomers({ partnerId: partner.id, segment: null, page: 1, pageSize: 10 }, ctx);
    expect(res.items.map((c) => c.partnerId)).toEqual([partner.id]);
  });
});

describe('CRM adapter, faults', () => {
  it('when a field is invalid (CRM-400), then it is a validation error on the clean field, never echoing the value', async () => {
    const err = await crm.createCustomer({ ...NEW, iban: 'IT00X0000000000000000000000' }, ctx).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'validation', code: 'crm.invalid_field', fields: [{ field: 'iban', reason: expect.any(String) }] });
    expect(JSON.stringify(err)).not.toContain('IT00X');
    expect(String((err as Error).message)).not.toContain('IT00X');
  });

  it.each([
    ['getCustomer', () => crm.getCustomer('C999999999', ctx)],
    ['updateCustomer', () => crm.updateCustomer('C999999999', { email: 'x@y.example' }, ctx)],
    ['addExternalRef', () => crm.addExternalRef('C999999999', 'TMO', '000000000012345', ctx)],
  ])('when %s names an unknown customer (CRM-404), then it is customer.not_found', async (_op, call) => {
    await expect(call()).rejects.toMatchObject({ kind: 'not_found', code: 'customer.not_found', retryable: false });
  });

  it('when the credentials are wrong (CRM-AUTH), then it is crm.auth_failed: not retryable, alerting, not the caller\'s fault', async () => {
    const bad = await createCrmAdapter(crmOptions(sim.url, { password: 'wrong-pw', logger }));
    try {
      await expect(bad.getCustomer('C000000001', ctx)).rejects.toMatchObject({ kind: 'unavailable', code: 'crm.auth_failed', retryable: false });
      expect(logger.lines.some((l) => l.startsWith('error') && l.includes('crm.auth_failed'))).toBe(true);
      expect(logger.lines.join('\n')).not.toContain('wrong-pw');
    } finally {
      await bad.close();
    }
  });

  it('when CRM fails internally (CRM-500), then it is a retryable unavailable error and the error holds no envelope', async () => {
    sim.faults.set({ faultRate: 1 });
    const own = await createCrmAdapter(crmOptions(sim.url));
    try {
      const err = await own.createCustomer(NEW, ctx).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'unavailable', code: 'crm.system_error', retryable: true });
      const dump = JSON.stringify({ err, cause: (err as Error).cause, message: (err as Error).message });
      expect(dump).not.toMatch(/0542811101|gateway-dev-secret|Envelope|UsernameToken/);
    } finally {
      await own.close();
    }
  });

  it('when CRM is in an outage, then the circuit opens and the state is visible for ops', async () => {
    const own = await createCrmAdapter(crmOptions(sim.url));
    try {
      sim.faults.outageFor(60_000);
      for (let i = 0; i < 7; i += 1) await own.getCustomer('C000000001', ctx).catch(() => undefined);
      expect(own.circuit()).toMatchObject({ system: 'crm', state: 'open', bulkhead: { limit: 8, active: 0, queued: 0 } });
      await expect(own.getCustomer('C000000001', ctx)).rejects.toMatchObject({ code: 'crm.circuit_open' });
    } finally {
      await own.close();
    }
  });

  it('when CRM is slower than the timeout, then it is crm.timeout', async () => {
    const own = await createCrmAdapter(crmOptions(sim.url, { timeoutMs: 80 }));
    sim.faults.set({ latencyMs: 300 });
    try {
      await expect(own.getCustomer('C000000001', ctx)).rejects.toMatchObject({ kind: 'timeout', code: 'crm.timeout' });
    } finally {
      await own.close();
    }
  });
});
