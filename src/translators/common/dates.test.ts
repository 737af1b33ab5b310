import { describe, expect, it } from 'vitest';
import {
  fromCrmDate,
  fromTmoDate,
  fromTmoDateTime,
  isValidTimeZone,
  toCrmDate,
  toTmoDate,
  toTmoDateTime,
  zoneOffsetMs,
} from './dates.ts';

describe('TMO dates', () => {
  it.each([
    ['20240131', '2024-01-31'],
    ['20240229', '2024-02-29'],
    ['19991231', '1999-12-31'],
    ['', null],
  ])('when TMO sends %j, then the ISO date is %j', (tmo, iso) => {
    expect(fromTmoDate(tmo)).toBe(iso);
  });

  it.each(['20230229', '20241301', '20240100', '2024-01-31', '2024013', 'ABCDEFGH', ' 20240131'])(
    'when TMO sends the invalid date %j, then it is a translation error',
    (tmo) => {
      expect(() => fromTmoDate(tmo)).toThrow(expect.objectContaining({ kind: 'translation', code: 'tmo.contract_violation' }));
    },
  );

  it.each([
    ['2024-01-31', '20240131'],
    [null, ''],
  ])('when the ISO date %j goes to TMO, then it is %j', (iso, tmo) => {
    expect(toTmoDate(iso)).toBe(tmo);
  });

  it('when an invalid ISO date goes to TMO, then it is a validation error', () => {
    expect(() => toTmoDate('2024-02-30', 'registeredAt')).toThrow(
      expect.objectContaining({ kind: 'validation', fields: [{ field: 'registeredAt', reason: expect.any(String) }] }),
    );
  });
});

describe('CRM dates', () => {
  it.each([
    ['31/01/2024', '2024-01-31'],
    ['29/02/2024', '2024-02-29'],
    ['', null],
  ])('when CRM sends %j, then the ISO date is %j', (crm, iso) => {
    expect(fromCrmDate(crm)).toBe(iso);
  });

  it.each(['31/02/2024', '2024-01-31', '1/1/2024', '01/13/2024', 'x'])(
    'when CRM sends the invalid date %j, then it is a translation error',
    (crm) => {
      expect(() => fromCrmDate(crm)).toThrow(expect.objectContaining({ kind: 'translation', code: 'crm.contract_violation' }));
    },
  );

  it.each([
    ['2024-01-31', '31/01/2024'],
    [null, ''],
  ])('when the ISO date %j goes to CRM, then it is %j', (iso, crm) => {
    expect(toCrmDate(iso)).toBe(crm);
  });
});

describe('TMO date + time in a zone', () => {
  it.each([
    // winter: Rome is UTC+1
    ['20240115', '103000', 'Europe/Rome', '2024-01-15T09:30:00.000Z'],
    // summer: Rome is UTC+2
    ['20240715', '103000', 'Europe/Rome', '2024-07-15T08:30:00.000Z'],
    ['20240715', '000000', 'UTC', '2024-07-15T00:00:00.000Z'],
    ['20240715', '235959', 'America/New_York', '2024-07-16T03:59:59.000Z'],
    // midnight roll-over to the previous UTC day
    ['20240101', '003000', 'Europe/Rome', '2023-12-31T23:30:00.000Z'],
    // spring-forward gap (02:30 does not exist on 31 Mar 2024 in Rome): moves forward
    ['20240331', '023000', 'Europe/Rome', '2024-03-31T01:30:00.000Z'],
    // just after the gap
    ['20240331', '030000', 'Europe/Rome', '2024-03-31T01:00:00.000Z'],
    // fall-back ambiguity (02:30 twice on 27 Oct 2024): the earlier instant
    ['20241027', '023000', 'Europe/Rome', '2024-10-27T00:30:00.000Z'],
    ['20241027', '033000', 'Europe/Rome', '2024-10-27T02:30:00.000Z'],
    // a date without a time is midnight
    ['20240115', '', 'Europe/Rome', '2024-01-14T23:00:00.000Z'],
    ['', '', 'Europe/Rome', null],
  ])('when TMO sends %j %j read in %s, then the instant is %j', (date, time, zone, iso) => {
    expect(fromTmoDateTime(date, time, zone)).toBe(iso);
  });

  it.each([
    ['', '103000'],
    ['20240115', '246000'],
    ['20240115', '1030'],
    ['20240132', '103000'],
    ['2024011', '103000'],
  ])('when TMO sends %j %j, then it is a translation error', (date, time) => {
    expect(() => fromTmoDateTime(date, time, 'Europe/Rome')).toThrow(
      expect.objectContaining({ kind: 'translation', code: 'tmo.contract_violation' }),
    );
  });

  it.each([
    ['2024-01-15T09:30:00.000Z', 'Europe/Rome', { date: '20240115', time: '103000' }],
    ['2024-07-15T08:30:00Z', 'Europe/Rome', { date: '20240715', time: '103000' }],
    ['2023-12-31T23:30:00.000Z', 'Europe/Rome', { date: '20240101', time: '003000' }],
    [null, 'Europe/Rome', { date: '', time: '' }],
  ])('when the instant %j goes to TMO in %s, then it is %j', (iso, zone, tmo) => {
    expect(toTmoDateTime(iso, zone)).toEqual(tmo);
  });

  it.each([
    [Date.UTC(2024, 0, 15), 'Europe/Rome', 3_600_000],
    [Date.UTC(2024, 6, 15), 'Europe/Rome', 7_200_000],
    [Date.UTC(2024, 6, 15), 'UTC', 0],
    [Date.UTC(2024, 6, 15), 'Asia/Kolkata', 19_800_000],
  ])('when the offset at %i in %s is asked, then it is %i ms', (ms, zone, offset) => {
    expect(zoneOffsetMs(ms, zone)).toBe(offset);
  });

  it.each([
    ['Europe/Rome', true],
    ['UTC', true],
    ['Mars/Olympus', false],
  ])('when the zone %s is checked, then valid is %s', (zone, ok) => {
    expect(isValidTimeZone(zone)).toBe(ok);
  });
});
