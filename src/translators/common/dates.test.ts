import { describe, expect, it } from 'vitest';
import {
  fromCrmDate,
  fromTmoDate,
  fromTmoDateTime,
  isoInstant,
  isValidTimeZone,
  toCrmDate,
  toTmoDate,
  toTmoDateTime,
  wallClockToEpochMs,
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
    // years 0–99 stay what they are (Date.UTC alone would read them as 1900–1999)
    ['00500101', '120000', 'UTC', '0050-01-01T12:00:00.000Z'],
    ['00040229', '000000', 'UTC', '0004-02-29T00:00:00.000Z'],
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

describe('TMO dates without RegExp or Date per check (issue 8): same answers as before', () => {
  // what isValidDate did before: let Date roll the fields over and see whether they stayed
  const dateSaysValid = (year: number, month: number, day: number): boolean => {
    if (year < 1 || month < 1 || month > 12 || day < 1) return false;
    const d = new Date(Date.UTC(2000, month - 1, day));
    d.setUTCFullYear(year);
    return d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
  };
  const years = [0, 1, 2, 3, 4, 99, 100, 400, 1582, 1600, 1700, 1800, 1900, 1999, 2000, 2023, 2024, 2025, 2100, 2400, 9996, 9999];

  it('when any day 00–32 of any month 00–13 of years around every leap rule is read, then it is valid exactly when Date says so', () => {
    const wrong: string[] = [];
    for (const year of years) {
      for (let month = 0; month <= 13; month++) {
        for (let day = 0; day <= 32; day++) {
          const tmo = `${String(year).padStart(4, '0')}${String(month).padStart(2, '0')}${String(day).padStart(2, '0')}`;
          let valid = true;
          try {
            fromTmoDate(tmo);
            fromTmoDateTime(tmo, '120000', 'Europe/Rome');
          } catch {
            valid = false;
          }
          if (valid !== dateSaysValid(year, month, day)) wrong.push(tmo);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it.each([
    ['2024011a', '103000'],
    ['2024-1-1', '103000'],
    ['20240115', '10300a'],
    ['20240115', '10:30:'],
    ['20240115 ', '103000'],
    ['20240115', ' 103000'],
    ['２０２４０１１５', '103000'],
    ['20240115', '103000\n'],
    ['20240115', '240000'],
    ['20240115', '236000'],
    ['20240115', '235960'],
  ])('when TMO sends %j %j, then it is still a translation error', (date, time) => {
    expect(() => fromTmoDateTime(date, time, 'Europe/Rome')).toThrow(expect.objectContaining({ kind: 'translation', code: 'tmo.contract_violation' }));
  });

  // the conversion without the per-day memo, as it was written before the memo existed
  const unmemoised = (wall: { year: number; month: number; day: number; hour: number; minute: number; second: number }, zone: string): number => {
    const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
    const offBefore = zoneOffsetMs(asUtc - 86_400_000, zone);
    const offAfter = zoneOffsetMs(asUtc + 86_400_000, zone);
    if (offBefore === offAfter) return asUtc - offBefore;
    const before = asUtc - offBefore;
    const after = asUtc - offAfter;
    const valid = [before, after].filter((t) => t + zoneOffsetMs(t, zone) === asUtc);
    return valid.length > 0 ? Math.min(...valid) : before;
  };

  it.each(['Europe/Rome', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'UTC'])(
    'when every half hour of the days around 2024’s transitions in %s is converted, then the memoised answer is the unmemoised one',
    (zone) => {
      const wrong: string[] = [];
      for (let t = Date.UTC(2024, 0, 1); t < Date.UTC(2025, 0, 1); t += 86_400_000) {
        const d = new Date(t);
        const dayStart = { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
        // only days with a transition within two days, plus the first of each month, are worth the Intl calls
        if (zoneOffsetMs(t - 2 * 86_400_000, zone) === zoneOffsetMs(t + 3 * 86_400_000, zone) && dayStart.day !== 1) continue;
        for (let m = 0; m < 24 * 60; m += 30) {
          const wall = { ...dayStart, hour: Math.floor(m / 60), minute: m % 60, second: 0 };
          if (wallClockToEpochMs(wall, zone) !== unmemoised(wall, zone)) wrong.push(`${JSON.stringify(wall)}`);
        }
      }
      expect(wrong).toEqual([]);
    },
  );
});

describe('isoInstant (issue 8)', () => {
  it('when instants from year 0000 to 9999 and beyond are formatted, then each equals Date#toISOString', () => {
    const edges = [
      0, -1, 1, 999, -86_400_000, Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(2100, 1, 28), Date.UTC(2000, 1, 29),
      new Date('0000-01-01T00:00:00.000Z').getTime(), new Date('0000-01-01T00:00:00.000Z').getTime() - 1,
      new Date('9999-12-31T23:59:59.999Z').getTime(), new Date('9999-12-31T23:59:59.999Z').getTime() + 1,
      new Date('0001-01-01T00:00:00.000Z').getTime(), new Date('0099-12-31T12:00:00.000Z').getTime(),
    ];
    const lo = new Date('-000002-01-01T00:00:00Z').getTime();
    const hi = new Date('+010002-01-01T00:00:00Z').getTime();
    const wrong: number[] = [];
    let seed = 42;
    const random = (): number => (seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32;
    const samples = [...edges, ...Array.from({ length: 200_000 }, () => Math.floor(lo + random() * (hi - lo)))];
    for (const ms of samples) if (isoInstant(ms) !== new Date(ms).toISOString()) wrong.push(ms);
    expect(wrong).toEqual([]);
    expect(isoInstant(1.5)).toBe(new Date(1.5).toISOString());
    expect(() => isoInstant(Number.NaN)).toThrow(RangeError);
  });
});
