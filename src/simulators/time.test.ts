import { describe, expect, it } from 'vitest';
import { startTmoSimulator } from './index.ts';
import { ddmmyyyy, hhmmss, yyyymmdd } from './shared/time.ts';

describe('legacy clock of the simulators', () => {
  it.each([
    // winter (CET, +1) and summer (CEST, +2), and a date that differs from UTC's
    [Date.UTC(2026, 0, 15, 9, 30, 5), 'Europe/Rome', '20260115', '103005', '15/01/2026'],
    [Date.UTC(2026, 6, 15, 9, 30, 5), 'Europe/Rome', '20260715', '113005', '15/07/2026'],
    [Date.UTC(2026, 11, 31, 23, 30, 0), 'Europe/Rome', '20270101', '003000', '01/01/2027'],
    [Date.UTC(2026, 11, 31, 23, 30, 0), 'UTC', '20261231', '233000', '31/12/2026'],
  ])('when %i is written in %s, then the legacy formats show that zone\'s wall clock', (ms, zone, date, time, crmDate) => {
    expect(yyyymmdd(ms, zone)).toBe(date);
    expect(hhmmss(ms, zone)).toBe(time);
    expect(ddmmyyyy(ms, zone)).toBe(crmDate);
  });

  it('when the TMO simulator runs in Europe/Rome, then LAST_SEEN is the local wall clock', async () => {
    const tmo = await startTmoSimulator({ timeZone: 'Europe/Rome' });
    try {
      const mid = tmo.state.seedMerchant({
        VAT_NO: '01234567890', MERCH_NAME: 'X', MCC: '5812', ADDR_LINE: 'A', CITY: 'B', ZIP: '00100', PROV: 'RM', COUNTRY: 'IT', CRM_REF: 'C000000001',
      });
      const tid = tmo.state.seedTerminal(mid, { STATUS: 'AC' });
      tmo.state.recordSeen(tid, Date.UTC(2026, 6, 1, 22, 15, 0));
      expect(tmo.state.terminal(tid)).toMatchObject({ LAST_SEEN_DATE: '20260702', LAST_SEEN_TIME: '001500' });
    } finally {
      await tmo.close();
    }
  });
});
