import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CorruptFileError } from '../../domain/errors/index.ts';
import type { TerminalSnapshotRecord, TerminalSnapshotSummary } from '../../domain/terminal-snapshot.ts';
import { createTermstatParser, termstatFormat, termstatTakenAfter } from './termstat.ts';

const fixture = (name: string) => readFileSync(new URL(`../../../fixtures/batch/termstat-parser/${name}`, import.meta.url));

function parse(bytes: Buffer, chunkSize = bytes.length, expectedDate?: string) {
  const parser = createTermstatParser({ timeZone: 'Europe/Rome', ...(expectedDate ? { expectedDate } : {}) });
  const records: TerminalSnapshotRecord[] = [];
  for (let at = 0; at < bytes.length; at += chunkSize) records.push(...parser.push(bytes.subarray(at, at + chunkSize)));
  const summary: TerminalSnapshotSummary = parser.end();
  return { records, summary };
}

function failure(bytes: Buffer, chunkSize?: number, expectedDate?: string): CorruptFileError {
  try {
    parse(bytes, chunkSize, expectedDate);
  } catch (err) {
    if (err instanceof CorruptFileError) return err;
    throw err;
  }
  throw new Error('expected the file to be corrupt');
}

describe('TERMSTAT parser (BATCH.md §3)', () => {
  it.each([1, 7, 81, 82, 83, 164, 4096])('when the valid file arrives in chunks of %i bytes, then every record is read the same', (size) => {
    const { records, summary } = parse(fixture('valid.DAT'), size);
    expect(summary).toEqual({ snapshotDate: '2026-11-27', records: 4, amountTotal: 45_677 });
    expect(records).toEqual([
      {
        terminalId: 'T0000001',
        tmoMerchantId: '000000000012345',
        status: 'active',
        lastSeenAt: '2026-11-27T09:15:30.000Z',
        transactionCount: 12,
        amount: { amount: 45_678, currency: 'EUR' },
        line: 2,
      },
      {
        terminalId: 'T0000002',
        tmoMerchantId: '000000000012345',
        status: 'suspended',
        // 02:30 does not exist in Rome that night: moved forward by the gap (03:30 CEST)
        lastSeenAt: '2026-03-29T01:30:00.000Z',
        transactionCount: 0,
        amount: { amount: 0, currency: 'EUR' },
        line: 3,
      },
      {
        terminalId: 'T0000003',
        tmoMerchantId: '000000000067890',
        status: 'pending',
        lastSeenAt: null,
        transactionCount: 0,
        amount: { amount: 0, currency: 'EUR' },
        line: 4,
      },
      {
        terminalId: 'T0000004',
        tmoMerchantId: '000000000067890',
        status: 'decommissioned',
        // 02:30 happens twice that night: the earlier (CEST) instant
        lastSeenAt: '2026-10-25T00:30:00.000Z',
        transactionCount: 3,
        amount: { amount: 999_999_999_999, currency: 'EUR' },
        line: 5,
      },
    ]);
  });

  it('when a snapshot has a header and a zero trailer only, then it is valid and empty', () => {
    expect(parse(fixture('empty-snapshot.DAT'))).toEqual({
      records: [],
      summary: { snapshotDate: '2026-11-27', records: 0, amountTotal: 0 },
    });
  });

  it.each([
    ['wrong-count.DAT', 6, /trailer detail count 5 does not match the 4 detail records/],
    ['wrong-amount.DAT', 6, /trailer amount total 45678 does not match .*\(45677\)/],
    ['short-record.DAT', 3, /record is 79 bytes, expected 80/],
    ['bad-status.DAT', 3, /STATUS \(positions 25–26\) 'XX' is not one of PE, AC, SU, DC/],
    ['non-digit.DAT', 3, /amount \(positions 48–59\) must be 12 digits/],
    ['missing-trailer.DAT', null, /missing trailer \(the file ends after 5 records\)/],
    ['bytes-after-last-crlf.DAT', 7, /1 bytes after the last CRLF/],
    ['lf-only.DAT', 1, /line ends with LF without CR \(after 80 bytes\)/],
    ['record-after-trailer.DAT', 7, /record after the trailer/],
    ['no-header.DAT', 1, /expected the header \(H\) first, found record type 'D'/],
  ])('when the file is %s, then it is corrupt at line %s', (name, line, reason) => {
    for (const size of [1, 82, 100_000]) {
      const err = failure(fixture(name), size);
      expect(err.code).toBe('batch.file_corrupt');
      expect(err.line).toBe(line);
      expect(err.reason).toMatch(reason);
      expect(err.retryable).toBe(false);
    }
  });

  it('when the header date differs from the name the job expected, then the file is corrupt at line 1', () => {
    const err = failure(fixture('header-date-mismatch.DAT'), undefined, '2026-11-27');
    expect([err.line, err.reason]).toEqual([1, "header snapshot date 2026-11-26 does not match the file name's 2026-11-27"]);
  });

  it('when the input is empty, then the file is corrupt for want of a header', () => {
    expect(failure(Buffer.alloc(0)).reason).toMatch(/empty: no header/);
  });

  it.each([
    ['a byte outside printable ASCII', (r: string) => r.slice(0, 70) + '\u00e9' + r.slice(71), /byte 71 is not printable ASCII/],
    ['a lowercase TID', (r: string) => 'Dt' + r.slice(2), /TID \(positions 2–9\)/],
    ['a letter in the MID', (r: string) => r.slice(0, 9) + 'A' + r.slice(10), /MID \(positions 10–24\)/],
    ['an impossible last-seen date', (r: string) => r.slice(0, 26) + '20261131' + r.slice(34), /last seen date .* not a valid date/],
    ['a time with a never-seen date', (r: string) => r.slice(0, 26) + '00000000' + '000001' + r.slice(40), /must be 000000/],
    ['an hour 24', (r: string) => r.slice(0, 34) + '240000' + r.slice(40), /not a valid HHMMSS time/],
    ['a non-digit in the count', (r: string) => r.slice(0, 40) + '00000X1' + r.slice(47), /transaction count/],
    ['text in the filler', (r: string) => r.slice(0, 79) + 'X', /positions 60–80 must be spaces/],
  ])('when a detail has %s, then the file is corrupt at its line', (_what, edit, reason) => {
    const lines = fixture('valid.DAT').toString('latin1').split('\r\n');
    lines[1] = edit(lines[1] ?? '');
    const err = failure(Buffer.from(lines.join('\r\n'), 'latin1'));
    expect(err.line).toBe(2);
    expect(err.reason).toMatch(reason);
  });
});

describe('TERMSTAT names', () => {
  const format = termstatFormat({ timeZone: 'Europe/Rome' });
  it.each([
    ['TERMSTAT_20261127.DAT', { snapshotDate: '2026-11-27', role: 'data' }],
    ['TERMSTAT_20261127.OK', { snapshotDate: '2026-11-27', role: 'marker' }],
    ['termstat_20261127.DAT', null],
    ['TERMSTAT_20261127.DAT.PART', null],
    ['TERMSTAT_20261131.DAT', null],
    ['TPU_20261127_001.ACK', null],
  ])('when a file is named %s, then it matches %j', (name, expected) => {
    expect(format.match(name)).toEqual(expected);
  });

  it('when asked for the names of a date, then both files are named after it', () => {
    expect(format.names('2026-11-27')).toEqual({ data: 'TERMSTAT_20261127.DAT', marker: 'TERMSTAT_20261127.OK' });
  });
});

describe('TERMSTAT taken after (the end of the snapshot date in the legacy time zone)', () => {
  it.each([
    ['2026-11-27', 'Europe/Rome', '2026-11-27T23:00:00.000Z'], // winter, UTC+1
    ['2026-07-01', 'Europe/Rome', '2026-07-01T22:00:00.000Z'], // summer, UTC+2
    ['2026-10-24', 'Europe/Rome', '2026-10-24T22:00:00.000Z'], // the next day falls back to UTC+1 at 03:00, after midnight
    ['2026-03-28', 'Europe/Rome', '2026-03-28T23:00:00.000Z'], // the next day springs forward at 02:00, after midnight
    ['2026-12-31', 'Europe/Rome', '2026-12-31T23:00:00.000Z'], // the year rolls over
    ['2028-02-28', 'UTC', '2028-02-29T00:00:00.000Z'], // a leap day follows
  ])('when the snapshot date is %s in %s, then TMO wrote it no earlier than %s', (date, zone, expected) => {
    expect(termstatTakenAfter(date, zone)).toBe(expected);
  });
});
