import { beforeEach, describe, expect, it } from 'vitest';
import { TimeoutError, UnavailableError } from '../errors/index.ts';
import { createServices } from './index.ts';
import { FakeCrm, FakeTmo, ctx } from './test-support/fake-ports.ts';
import type { NewMerchant, OnboardingProgress, Services, TerminalOrderProgress } from './types.ts';

const address = { line1: 'Via Roma 1', city: 'Milano', postalCode: '20100', province: 'MI', country: 'IT' };
const newMerchant = (vat = '12345678901'): NewMerchant => ({
  legalName: 'Caffè Società Srl',
  vatNumber: vat,
  taxCode: vat,
  segment: 'retail',
  mcc: '5812',
  email: 'info@caffe.example',
  phone: '+390212345678',
  address,
  iban: 'IT60X0542811101000000123456',
  partnerId: null,
});

describe('domain services', () => {
  let crm: FakeCrm;
  let tmo: FakeTmo;
  let services: Services;

  beforeEach(() => {
    crm = new FakeCrm();
    tmo = new FakeTmo();
    services = createServices({ crm, tmo });
  });

  describe('onboarding', () => {
    it('when a new merchant onboards, then CRM create → TMO register → CRM link run once each and the merge is returned', async () => {
      const { merchant, created } = await services.merchants.onboard(newMerchant(), ctx);
      expect(created).toBe(true);
      expect(merchant).toMatchObject({
        id: 'C000000001',
        legalName: 'Caffè Società Srl',
        tmoMerchantId: '000000000000001',
        mcc: '5812',
        status: 'active',
        ibanMasked: 'IT*********************3456',
      });
      expect(crm.calls.createCustomer).toBe(1);
      expect(tmo.calls.registerMerchant).toBe(1);
      expect(crm.calls.addExternalRef).toBe(1);
    });

    it('when the same VAT number onboards again, then the existing records are reused and created is false', async () => {
      await services.merchants.onboard(newMerchant(), ctx);
      const again = await services.merchants.onboard(newMerchant(), ctx);
      expect(again.created).toBe(false);
      expect(again.merchant.id).toBe('C000000001');
      expect(crm.customers.size).toBe(1);
      expect(tmo.merchants.size).toBe(1);
      expect(tmo.calls.registerMerchant).toBe(1);
      expect(crm.calls.addExternalRef).toBe(1);
    });

    it('when TMO fails after CRM created the customer, then resuming with the stored progress never creates a second customer', async () => {
      let stored: OnboardingProgress = {};
      const resume = () => ({ progress: stored, onProgress: async (p: OnboardingProgress) => void (stored = p) });
      tmo.fail = (op) => (op === 'registerMerchant' ? new UnavailableError('tmo.unavailable', 'down') : undefined);
      await expect(services.merchants.onboard(newMerchant(), ctx, resume())).rejects.toMatchObject({ kind: 'unavailable' });
      expect(stored.customerId).toBe('C000000001');
      tmo.fail = undefined;
      const r = await services.merchants.onboard(newMerchant(), ctx, resume());
      expect(r.created).toBe(true);
      expect(crm.calls.createCustomer).toBe(1);
      expect(tmo.merchants.size).toBe(1);
      expect(stored).toMatchObject({ customerId: 'C000000001', tmoMerchantId: '000000000000001', linked: true });
    });

    it('when the VAT number belongs to a partner, then onboarding is a conflict', async () => {
      await services.partners.create({ name: 'Partner', vatNumber: '99999999999', taxCode: '99999999999', email: null, phone: null, address }, ctx);
      await expect(services.merchants.onboard(newMerchant('99999999999'), ctx)).rejects.toMatchObject({
        kind: 'conflict',
        code: 'merchant.vat_number_registered_as_partner',
      });
      expect(tmo.calls.registerMerchant).toBeUndefined();
    });
  });

  describe('merchant reads', () => {
    it('when the link is cached, then CRM and TMO are read and merged', async () => {
      await services.merchants.onboard(newMerchant(), ctx);
      const m = await services.merchants.get('C000000001', ctx);
      expect(m).toMatchObject({ tmoMerchantId: '000000000000001', mcc: '5812', status: 'active' });
    });

    it('when a partner id is read as a merchant, then it is not found', async () => {
      const { partner } = await services.partners.create(
        { name: 'P', vatNumber: '99999999999', taxCode: '99999999999', email: null, phone: null, address },
        ctx,
      );
      await expect(services.merchants.get(partner.id, ctx)).rejects.toMatchObject({ code: 'merchant.not_found' });
    });

    it('when listing without a segment, then partners are left out and the next page is computed', async () => {
      await services.partners.create({ name: 'P', vatNumber: '99999999999', taxCode: '99999999999', email: null, phone: null, address }, ctx);
      await services.merchants.onboard(newMerchant('11111111111'), ctx);
      await services.merchants.onboard(newMerchant('22222222222'), ctx);
      const p1 = await services.merchants.list({ partnerId: null, segment: null }, { page: 1, pageSize: 2 }, ctx);
      expect(p1.items.map((m) => m.vatNumber)).toEqual(['11111111111']);
      expect(p1.nextPage).toBe(2);
      const p2 = await services.merchants.list({ partnerId: null, segment: null }, { page: 2, pageSize: 2 }, ctx);
      expect(p2.items.map((m) => m.vatNumber)).toEqual(['22222222222']);
      expect(p2.nextPage).toBeNull();
    });

    it('when a merchant is patched, then only CRM is updated and the merged merchant is returned', async () => {
      await services.merchants.onboard(newMerchant(), ctx);
      const m = await services.merchants.update('C000000001', { legalName: 'New Name', address: { city: 'Roma' } }, ctx);
      expect(m.legalName).toBe('New Name');
      expect(m.address.city).toBe('Roma');
      expect(m.address.line1).toBe('Via Roma 1');
    });
  });

  describe('terminals', () => {
    const order = { model: 'A920' as const, contactless: true, currency: 'EUR' as const, shippingAddress: address };

    it('when a terminal is ordered for an onboarded merchant, then it is returned with the CRM merchant id', async () => {
      await services.merchants.onboard(newMerchant(), ctx);
      const t = await services.terminals.order('C000000001', order, ctx);
      expect(t).toMatchObject({ merchantId: 'C000000001', tmoMerchantId: '000000000000001', model: 'A920', status: 'pending' });
      const read = await services.terminals.get(t.id, ctx);
      expect(read.merchantId).toBe('C000000001');
    });

    it('when an order timed out after TMO applied it, then the retry adopts that terminal instead of ordering a second', async () => {
      await services.merchants.onboard(newMerchant(), ctx);
      let stored: TerminalOrderProgress = {};
      const resume = () => ({ progress: stored, onProgress: async (p: TerminalOrderProgress) => void (stored = p) });
      tmo.afterApply = (op) => (op === 'orderTerminal' ? new TimeoutError('tmo.timeout', 'no answer') : undefined);
      await expect(services.terminals.order('C000000001', order, ctx, resume())).rejects.toMatchObject({ kind: 'timeout' });
      expect(stored.sendAttempted).toBe(true);
      tmo.afterApply = undefined;
      const t = await services.terminals.order('C000000001', order, ctx, resume());
      expect(tmo.calls.orderTerminal).toBe(1);
      expect(tmo.terminals.size).toBe(1);
      expect(t.id).toBe([...tmo.terminals.keys()][0]);
    });

    it('when an ambiguous order left nothing in TMO, then the retry sends it once more', async () => {
      await services.merchants.onboard(newMerchant(), ctx);
      let stored: TerminalOrderProgress = {};
      const resume = () => ({ progress: stored, onProgress: async (p: TerminalOrderProgress) => void (stored = p) });
      tmo.fail = (op) => (op === 'orderTerminal' ? new TimeoutError('tmo.timeout', 'no answer') : undefined);
      await expect(services.terminals.order('C000000001', order, ctx, resume())).rejects.toMatchObject({ kind: 'timeout' });
      tmo.fail = undefined;
      await services.terminals.order('C000000001', order, ctx, resume());
      expect(tmo.calls.orderTerminal).toBe(2);
      expect(tmo.terminals.size).toBe(1);
    });

    it('when the only new terminal of the model belongs to another order, then it is not adopted and the order is sent again', async () => {
      await services.merchants.onboard(newMerchant(), ctx);
      let stored: TerminalOrderProgress = {};
      const resume = (claimed: string[] = []) => ({
        progress: { ...stored, claimedElsewhere: claimed },
        onProgress: async (p: TerminalOrderProgress) => void (stored = p),
      });
      tmo.fail = (op) => (op === 'orderTerminal' ? new TimeoutError('tmo.timeout', 'no answer') : undefined);
      await expect(services.terminals.order('C000000001', order, ctx, resume())).rejects.toMatchObject({ kind: 'timeout' });
      tmo.fail = undefined;
      // meanwhile another order of the same model completed (say, while this one sat in the dead letters)
      const sibling = await tmo.orderTerminal('000000000000001', order, ctx);
      const mine = await services.terminals.order('C000000001', order, ctx, resume([sibling.terminalId]));
      expect(mine.id).not.toBe(sibling.terminalId);
      expect(tmo.terminals.size).toBe(2);
      expect(stored.claimedElsewhere).toBeUndefined();
    });

    it('when two unknown terminals of the model appeared, then the order is parked for an operator', async () => {
      await services.merchants.onboard(newMerchant(), ctx);
      const stored: TerminalOrderProgress = { tmoMerchantId: '000000000000001', knownTerminalIds: [], sendAttempted: true };
      await tmo.orderTerminal('000000000000001', order, ctx);
      await tmo.orderTerminal('000000000000001', order, ctx);
      await expect(
        services.terminals.order('C000000001', order, ctx, { progress: stored, onProgress: async () => undefined }),
      ).rejects.toMatchObject({ kind: 'conflict', code: 'terminal.order_unresolved', retryable: false });
    });

    it('when a merchant is not onboarded to TMO, then ordering is a conflict', async () => {
      await crm.createCustomer({ ...newMerchant(), name: 'x' }, ctx);
      await expect(services.terminals.order('C000000001', order, ctx)).rejects.toMatchObject({ code: 'merchant.not_onboarded' });
    });

    it('when the status already matches, then changed is false; when decommissioned, then a later change is a conflict', async () => {
      await services.merchants.onboard(newMerchant(), ctx);
      const t = await services.terminals.order('C000000001', order, ctx);
      expect((await services.terminals.changeStatus(t.id, 'active', 'other', ctx)).changed).toBe(true);
      expect((await services.terminals.changeStatus(t.id, 'active', 'other', ctx)).changed).toBe(false);
      await services.terminals.changeStatus(t.id, 'decommissioned', 'contract_ended', ctx);
      await expect(services.terminals.changeStatus(t.id, 'active', 'other', ctx)).rejects.toMatchObject({
        code: 'terminal.decommissioned',
      });
    });
  });

  describe('partners', () => {
    it('when a partner is created twice, then the second answers the existing partner; its merchants are listed', async () => {
      const a = await services.partners.create({ name: 'P', vatNumber: '99999999999', taxCode: '99999999999', email: null, phone: null, address }, ctx);
      const b = await services.partners.create({ name: 'P', vatNumber: '99999999999', taxCode: '99999999999', email: null, phone: null, address }, ctx);
      expect(a.created).toBe(true);
      expect(b).toMatchObject({ created: false, partner: { id: a.partner.id } });
      await services.merchants.onboard({ ...newMerchant(), partnerId: a.partner.id }, ctx);
      const list = await services.partners.listMerchants(a.partner.id, { page: 1, pageSize: 10 }, ctx);
      expect(list.items.map((m) => m.id)).toEqual(['C000000002']);
    });

    it('when a merchant id is read as a partner, then it is not found', async () => {
      await services.merchants.onboard(newMerchant(), ctx);
      await expect(services.partners.get('C000000001', ctx)).rejects.toMatchObject({ code: 'partner.not_found' });
    });
  });
});

describe('not found in merchant terms', () => {
  it.each([
    ['merchants.get', (s: Services) => s.merchants.get('C000000099', ctx), 'merchant.not_found'],
    ['merchants.update', (s: Services) => s.merchants.update('C000000099', { email: 'a@b.example' }, ctx), 'merchant.not_found'],
    ['terminals.order', (s: Services) => s.terminals.order('C000000099', { model: 'A920', contactless: true, currency: 'EUR', shippingAddress: address }, ctx), 'merchant.not_found'],
    ['terminals.listForMerchant', (s: Services) => s.terminals.listForMerchant('C000000099', { page: 1, pageSize: 10 }, ctx), 'merchant.not_found'],
    ['partners.get', (s: Services) => s.partners.get('C000000099', ctx), 'partner.not_found'],
    ['partners.listMerchants', (s: Services) => s.partners.listMerchants('C000000099', { page: 1, pageSize: 10 }, ctx), 'partner.not_found'],
  ])('when %s names an unknown customer, then the error speaks of the resource, not of CRM', async (_name, call, code) => {
    const services = createServices({ crm: new FakeCrm(), tmo: new FakeTmo() });
    await expect(call(services)).rejects.toMatchObject({ kind: 'not_found', code });
  });
});
