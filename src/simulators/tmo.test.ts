import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type * as soap from 'soap';
import { startTmoSimulator, type TmoSimulator } from './index.ts';
import { call, failure, tmoClient } from './test-support.ts';

const T0 = Date.UTC(2024, 2, 5, 13, 4, 5); // 2024-03-05 13:04:05 UTC
let clock = T0;

const REG = {
  VAT_NO: '12345678901',
  MERCH_NAME: 'CAFFE SOCIETA SRL',
  MCC: '5812',
  ADDR_LINE: 'VIA ROMA 1',
  CITY: 'MILANO',
  ZIP: '20100',
  PROV: 'MI',
  COUNTRY: 'IT',
  CRM_REF: 'C000000001',
};
const ORDER = { MODEL: 'A920', CONTACTLESS: 'Y', CURRENCY: 'EUR', SHIP_ADDR_LINE: '', SHIP_CITY: '', SHIP_ZIP: '', SHIP_PROV: '' };

type R = Record<string, unknown> & { RETURN_CODE: string; RETURN_MSG: string };

describe('TMO simulator', () => {
  let sim: TmoSimulator;
  let client: soap.Client;
  const register = (over: Partial<typeof REG> = {}) => call<R>(client, 'RegisterMerchant', { ...REG, ...over });
  const order = (MID: string, over: Partial<typeof ORDER> = {}) => call<R>(client, 'OrderTerminal', { MID, ...ORDER, ...over });
  const change = (TID: string, NEW_STATUS: string, REASON_CODE = '01') =>
    call<R>(client, 'ChangeTerminalStatus', { TID, NEW_STATUS, REASON_CODE });

  beforeAll(async () => {
    sim = await startTmoSimulator({ now: () => clock, seed: 42 });
    client = await tmoClient(sim.url);
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => {
    sim.state.reset();
    sim.faults.reset();
    clock = T0;
  });

  describe('RegisterMerchant', () => {
    it('when a valid merchant is registered, then 00 with a sequential 15-digit MID', async () => {
      const first = await register();
      const second = await register({ VAT_NO: '10987654321' });
      expect(first).toEqual({ RETURN_CODE: '00', RETURN_MSG: 'OK', MID: '000000000000001' });
      expect(second.MID).toBe('000000000000002');
      expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/tmo$/);
    });

    it('when the VAT number is already registered, then E301 with the existing MID only in RETURN_MSG', async () => {
      await register();
      const again = await register({ MERCH_NAME: 'OTHER NAME' });
      expect(again).toEqual({
        RETURN_CODE: 'E301',
        RETURN_MSG: 'MERCHANT ALREADY REGISTERED WITH MID 000000000000001',
        MID: '',
      });
      expect(sim.state.merchants()).toHaveLength(1);
      expect(sim.state.registerCalls(REG.VAT_NO)).toBe(2);
    });

    it.each(['7995', '7800', '7801', '7802'])('when the MCC is %s (gambling), then E102', async (MCC) => {
      const res = await register({ MCC });
      expect(res).toEqual({ RETURN_CODE: 'E102', RETURN_MSG: `MCC ${MCC} NOT ALLOWED`, MID: '' });
    });

    it.each([
      ['VAT_NO', '1234567890'],
      ['VAT_NO', 'IT123456789'],
      ['MERCH_NAME', ''],
      ['MERCH_NAME', 'Caffe Societa Srl'],
      ['MERCH_NAME', 'CAFFÈ SOCIETÀ SRL'],
      ['MERCH_NAME', 'X'.repeat(41)],
      ['MCC', '581'],
      ['ADDR_LINE', 'A'.repeat(41)],
      ['ADDR_LINE', 'via roma 1'],
      ['CITY', 'C'.repeat(26)],
      ['ZIP', '2010A'],
      ['PROV', 'M1'],
      ['PROV', 'mi'],
      ['COUNTRY', 'ITA'],
      ['CRM_REF', 'C0000000000001'],
      ['CRM_REF', ''],
    ])('when %s is %j, then E101 naming the field', async (field, value) => {
      const res = await register({ [field]: value });
      expect(res).toEqual({ RETURN_CODE: 'E101', RETURN_MSG: `INVALID FIELD ${field}`, MID: '' });
      expect(sim.state.merchants()).toHaveLength(0);
    });

    it('when a name is exactly 40 printable ASCII characters with punctuation, then it is accepted', async () => {
      const res = await register({ MERCH_NAME: `BAR "L'ANGOLO" & C. S.N.C. - 1/2 ${'X'.repeat(6)}` });
      expect(res.RETURN_CODE).toBe('00');
    });
  });

  describe('GetMerchant', () => {
    it('when the MID exists, then the full record in WSDL fields with REG_DATE as YYYYMMDD', async () => {
      const { MID } = await register();
      const res = await call<R>(client, 'GetMerchant', { MID });
      expect(res).toEqual({
        RETURN_CODE: '00',
        RETURN_MSG: 'OK',
        MERCHANT: { MID, ...REG, STATUS: 'AC', REG_DATE: '20240305' },
      });
    });

    it('when the MID does not exist, then E201 and no MERCHANT key', async () => {
      const res = await call<R>(client, 'GetMerchant', { MID: '000000000000999' });
      expect(res).toEqual({ RETURN_CODE: 'E201', RETURN_MSG: 'MID NOT FOUND' });
    });

    it('when the MID is not 15 digits, then E101 MID', async () => {
      const res = await call<R>(client, 'GetMerchant', { MID: '12345' });
      expect(res).toEqual({ RETURN_CODE: 'E101', RETURN_MSG: 'INVALID FIELD MID' });
    });
  });

  describe('OrderTerminal and GetTerminal', () => {
    it('when a terminal is ordered, then 00 with an 8-char TID and it starts PE, never seen, with a serial number', async () => {
      const { MID } = await register();
      const res = await order(MID as string);
      expect(res.RETURN_CODE).toBe('00');
      expect(res.TID).toMatch(/^[A-Z0-9]{8}$/);
      const got = await call<R>(client, 'GetTerminal', { TID: res.TID });
      expect(got).toEqual({
        RETURN_CODE: '00',
        RETURN_MSG: 'OK',
        TERMINAL: {
          TID: res.TID,
          MID,
          MODEL: 'A920',
          SERIAL_NO: 'A920-00000001',
          STATUS: 'PE',
          CONTACTLESS: 'Y',
          CURRENCY: 'EUR',
          LAST_SEEN_DATE: '',
          LAST_SEEN_TIME: '',
        },
      });
      expect(sim.state.terminalsByMid().get(MID as string)).toHaveLength(1);
      expect(sim.state.orderCalls(MID as string)).toBe(1);
    });

    it('when TMO ships the terminal (state.activate), then it is AC and LAST_SEEN is the activation time', async () => {
      const { MID } = await register();
      const { TID } = await order(MID as string);
      clock = T0 + 3_600_000;
      expect(sim.state.activate(TID as string)).toBe(true);
      expect(sim.state.activate(TID as string)).toBe(false);
      const got = await call<R & { TERMINAL: Record<string, string> }>(client, 'GetTerminal', { TID });
      expect(got.TERMINAL).toMatchObject({ STATUS: 'AC', LAST_SEEN_DATE: '20240305', LAST_SEEN_TIME: '140405' });
    });

    it('when a full shipping address is given, then it is kept; when only part of it, then E101 naming the first empty field', async () => {
      const { MID } = await register();
      const full = { SHIP_ADDR_LINE: 'VIA PO 2', SHIP_CITY: 'TORINO', SHIP_ZIP: '10100', SHIP_PROV: 'TO' };
      const ok = await order(MID as string, full);
      expect(sim.state.terminal(ok.TID as string)?.shipTo).toEqual(full);
      const partial = await order(MID as string, { SHIP_ADDR_LINE: 'VIA PO 2' });
      expect(partial).toEqual({ RETURN_CODE: 'E101', RETURN_MSG: 'INVALID FIELD SHIP_CITY', TID: '' });
    });

    it.each([
      ['MODEL', 'A930'],
      ['CONTACTLESS', 'S'],
      ['CONTACTLESS', 'y'],
      ['CURRENCY', 'USD'],
      ['SHIP_ZIP', '1010'],
    ])('when %s is %j, then E101 naming the field', async (field, value) => {
      const { MID } = await register();
      const base = field.startsWith('SHIP_') ? { SHIP_ADDR_LINE: 'VIA PO 2', SHIP_CITY: 'TORINO', SHIP_ZIP: '10100', SHIP_PROV: 'TO' } : {};
      const res = await order(MID as string, { ...base, [field]: value });
      expect(res).toEqual({ RETURN_CODE: 'E101', RETURN_MSG: `INVALID FIELD ${field}`, TID: '' });
      expect(sim.state.terminals()).toHaveLength(0);
    });

    it('when the MID does not exist, then E201 and nothing is ordered', async () => {
      const res = await order('000000000000777');
      expect(res).toEqual({ RETURN_CODE: 'E201', RETURN_MSG: 'MID NOT FOUND', TID: '' });
    });

    it('when the TID does not exist, then E202 and no TERMINAL key; when malformed, then E101 TID', async () => {
      expect(await call<R>(client, 'GetTerminal', { TID: 'ZZZZ9999' })).toEqual({ RETURN_CODE: 'E202', RETURN_MSG: 'TID NOT FOUND' });
      expect(await call<R>(client, 'GetTerminal', { TID: 'abc12345' })).toEqual({ RETURN_CODE: 'E101', RETURN_MSG: 'INVALID FIELD TID' });
    });

    it('when the same seed is used, then the same TIDs are generated', async () => {
      const other = await startTmoSimulator({ seed: 42 });
      try {
        const mid = other.state.seedMerchant({ ...REG });
        const a = other.state.seedTerminal(mid);
        const { MID } = await register();
        const { TID } = await order(MID as string);
        expect(TID).toBe(a);
      } finally {
        await other.close();
      }
    });
  });

  describe('auto activation', () => {
    it('when autoActivateAfterMs has passed since the order, then the terminal reads AC', async () => {
      let now = T0;
      const s = await startTmoSimulator({ now: () => now, autoActivateAfterMs: 60_000 });
      try {
        const c = await tmoClient(s.url);
        const { MID } = await call<R>(c, 'RegisterMerchant', REG);
        const { TID } = await call<R>(c, 'OrderTerminal', { MID, ...ORDER });
        now = T0 + 59_999;
        expect((await call<R & { TERMINAL: { STATUS: string } }>(c, 'GetTerminal', { TID })).TERMINAL.STATUS).toBe('PE');
        now = T0 + 60_000;
        const t = (await call<R & { TERMINAL: Record<string, string> }>(c, 'GetTerminal', { TID })).TERMINAL;
        expect(t).toMatchObject({ STATUS: 'AC', LAST_SEEN_DATE: '20240305', LAST_SEEN_TIME: '130505' });
      } finally {
        await s.close();
      }
    });
  });

  describe('ListTerminals', () => {
    it('when a merchant has 3 terminals, then pages are 1-based with TOTAL_RECORDS and an empty last page', async () => {
      const { MID } = await register();
      const tids: string[] = [];
      for (let i = 0; i < 3; i++) tids.push((await order(MID as string)).TID as string);
      type L = R & { TOTAL_RECORDS: string; TERMINALS: { TERMINAL: Array<{ TID: string }> } | null };
      const p1 = await call<L>(client, 'ListTerminals', { MID, PAGE_NO: '1', PAGE_SIZE: '2' });
      const p2 = await call<L>(client, 'ListTerminals', { MID, PAGE_NO: '2', PAGE_SIZE: '2' });
      const p3 = await call<L>(client, 'ListTerminals', { MID, PAGE_NO: '3', PAGE_SIZE: '2' });
      expect(p1.TOTAL_RECORDS).toBe('3');
      expect(p1.TERMINALS?.TERMINAL.map((t) => t.TID)).toEqual(tids.slice(0, 2));
      expect(p2.TERMINALS?.TERMINAL.map((t) => t.TID)).toEqual(tids.slice(2));
      expect(p3).toEqual({ RETURN_CODE: '00', RETURN_MSG: 'OK', TOTAL_RECORDS: '3', TERMINALS: null });
    });

    it('when the merchant has no terminals, then 00 with TOTAL_RECORDS 0 and an empty list', async () => {
      const { MID } = await register();
      const res = await call<R>(client, 'ListTerminals', { MID, PAGE_NO: '1', PAGE_SIZE: '50' });
      expect(res).toEqual({ RETURN_CODE: '00', RETURN_MSG: 'OK', TOTAL_RECORDS: '0', TERMINALS: null });
    });

    it.each([
      ['PAGE_NO', '0'],
      ['PAGE_NO', ''],
      ['PAGE_SIZE', '0'],
      ['PAGE_SIZE', '51'],
      ['PAGE_SIZE', 'X'],
    ])('when %s is %j, then E101 naming it with an empty TOTAL_RECORDS', async (field, value) => {
      const { MID } = await register();
      const res = await call<R>(client, 'ListTerminals', { MID, PAGE_NO: '1', PAGE_SIZE: '10', [field]: value });
      expect(res).toEqual({ RETURN_CODE: 'E101', RETURN_MSG: `INVALID FIELD ${field}`, TOTAL_RECORDS: '', TERMINALS: null });
    });

    it('when the MID does not exist, then E201', async () => {
      const res = await call<R>(client, 'ListTerminals', { MID: '000000000000404', PAGE_NO: '1', PAGE_SIZE: '10' });
      expect(res.RETURN_CODE).toBe('E201');
    });
  });

  describe('ChangeTerminalStatus', () => {
    async function activeTerminal(): Promise<string> {
      const { MID } = await register();
      const { TID } = await order(MID as string);
      sim.state.activate(TID as string);
      return TID as string;
    }

    it('when an active terminal is suspended then reactivated, then 00 with the new STATUS each time', async () => {
      const tid = await activeTerminal();
      expect(await change(tid, 'SU', '02')).toEqual({ RETURN_CODE: '00', RETURN_MSG: 'OK', STATUS: 'SU' });
      expect(await change(tid, 'AC', '01')).toEqual({ RETURN_CODE: '00', RETURN_MSG: 'OK', STATUS: 'AC' });
      expect(sim.state.terminal(tid)?.history.map((h) => [h.from, h.to, h.reasonCode])).toEqual([
        ['PE', 'AC', ''],
        ['AC', 'SU', '02'],
        ['SU', 'AC', '01'],
      ]);
    });

    it('when the terminal is already in the requested status, then E302 with the current STATUS', async () => {
      const tid = await activeTerminal();
      expect(await change(tid, 'AC')).toEqual({ RETURN_CODE: 'E302', RETURN_MSG: 'TERMINAL ALREADY IN STATUS AC', STATUS: 'AC' });
    });

    it('when a terminal is decommissioned, then DC is final: AC/SU answer E101, DC again answers E302', async () => {
      const tid = await activeTerminal();
      expect((await change(tid, 'DC', '04')).STATUS).toBe('DC');
      expect(await change(tid, 'AC')).toEqual({
        RETURN_CODE: 'E101',
        RETURN_MSG: 'INVALID FIELD NEW_STATUS: TERMINAL IS DECOMMISSIONED',
        STATUS: 'DC',
      });
      expect((await change(tid, 'SU')).RETURN_CODE).toBe('E101');
      expect((await change(tid, 'DC', '04')).RETURN_CODE).toBe('E302');
    });

    it('when the terminal is still PE, then only DC (order cancelled) is accepted', async () => {
      const { MID } = await register();
      const { TID } = await order(MID as string);
      expect(await change(TID as string, 'AC')).toEqual({
        RETURN_CODE: 'E101',
        RETURN_MSG: 'INVALID FIELD NEW_STATUS: TERMINAL NOT YET SHIPPED',
        STATUS: 'PE',
      });
      expect((await change(TID as string, 'SU')).RETURN_CODE).toBe('E101');
      expect(await change(TID as string, 'DC', '01')).toEqual({ RETURN_CODE: '00', RETURN_MSG: 'OK', STATUS: 'DC' });
    });

    it.each([
      ['NEW_STATUS', 'PE'],
      ['NEW_STATUS', 'ac'],
      ['REASON_CODE', '05'],
      ['REASON_CODE', '1'],
    ])('when %s is %j, then E101 naming it', async (field, value) => {
      const tid = await activeTerminal();
      const res = await call<R>(client, 'ChangeTerminalStatus', { TID: tid, NEW_STATUS: 'SU', REASON_CODE: '01', [field]: value });
      expect(res).toEqual({ RETURN_CODE: 'E101', RETURN_MSG: `INVALID FIELD ${field}`, STATUS: '' });
    });

    it('when the TID does not exist, then E202', async () => {
      expect(await change('ZZZZ9999', 'SU')).toEqual({ RETURN_CODE: 'E202', RETURN_MSG: 'TID NOT FOUND', STATUS: '' });
    });
  });

  describe('malformed requests', () => {
    it('when an element is omitted, then a soap:Client fault TMO-VAL (HTTP 500)', async () => {
      const f = await failure(call(client, 'GetMerchant', {}));
      expect(f.status).toBe(500);
      expect(f.fault).toEqual({ faultcode: 'soap:Client', faultstring: 'TMO-VAL: MISSING ELEMENT MID' });
    });

    it('when an element is xsi:nil, then TMO-VAL', async () => {
      const f = await failure(call(client, 'RegisterMerchant', { ...REG, CRM_REF: null }));
      expect(f.fault?.faultstring).toBe('TMO-VAL: XSI:NIL NOT ACCEPTED FOR ELEMENT CRM_REF');
    });

    it('when an unknown element is sent, then TMO-VAL and nothing is applied', async () => {
      const f = await failure(call(client, 'RegisterMerchant', { ...REG, EXTRA: 'X' }));
      expect(f.fault?.faultstring).toBe('TMO-VAL: UNEXPECTED ELEMENT EXTRA');
      expect(sim.state.merchants()).toHaveLength(0);
    });

    it('when the XML is not well-formed or the SOAPAction unknown, then TMO-VAL', async () => {
      const auth = `Basic ${Buffer.from('gateway:gateway-dev-secret').toString('base64')}`;
      const post = (body: string, action: string) =>
        fetch(sim.url, { method: 'POST', headers: { 'content-type': 'text/xml', soapaction: action, authorization: auth }, body });
      const broken = await post('<soap:Envelope><oops>', '"GetMerchant"');
      expect(broken.status).toBe(500);
      expect(await broken.text()).toContain('<faultstring>TMO-VAL: MALFORMED REQUEST</faultstring>');
      const unknown = await post('<x/>', 'DeleteMerchant');
      expect(await unknown.text()).toContain('<faultstring>TMO-VAL: UNKNOWN SOAPACTION</faultstring>');
    });
  });

  describe('authentication', () => {
    it('when the password is wrong, then HTTP 401 with an empty body (no envelope)', async () => {
      const bad = await tmoClient(sim.url, { username: 'gateway', password: 'nope' });
      const f = await failure(call(bad, 'GetMerchant', { MID: '000000000000001' }));
      expect(f.status).toBe(401);
      expect(f.body ?? '').toBe('');
      expect(f.fault).toBeUndefined();
    });

    it('when credentials are missing, then HTTP 401 and the call is not counted', async () => {
      const anon = await tmoClient(sim.url, null);
      const f = await failure(call(anon, 'RegisterMerchant', REG));
      expect(f.status).toBe(401);
      expect(sim.state.callCounts().RegisterMerchant).toBe(0);
      expect(sim.state.recentCalls().at(-1)?.outcome).toBe('HTTP401');
    });
  });

  describe('inspection', () => {
    it('when a caller sends X-Request-Id, then the journal records it with the outcome', async () => {
      await call(client, 'RegisterMerchant', REG, {}, { 'X-Request-Id': 'req-123' });
      expect(sim.state.recentCalls()).toEqual([{ operation: 'RegisterMerchant', requestId: 'req-123', at: T0, outcome: '00' }]);
    });

    it('when merchants and terminals exist, then merchantsByVat/terminalsByMid/summary reflect them', async () => {
      const { MID } = await register();
      await order(MID as string);
      await order(MID as string);
      expect(sim.state.merchantsByVat().get(REG.VAT_NO)?.MID).toBe(MID);
      expect(sim.state.terminalsByMid().get(MID as string)).toHaveLength(2);
      expect(sim.state.summary()).toMatchObject({
        system: 'TMO',
        merchants: 1,
        terminals: 2,
        terminalsByStatus: { PE: 2, AC: 0, SU: 0, DC: 0 },
      });
      expect(Object.isFrozen(sim.state.merchants()[0])).toBe(true);
    });
  });
});
