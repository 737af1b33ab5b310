import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { answerNames, parseAnswerName, parseTpuAnswer } from './answers.ts';

const fixture = (name: string) => readFileSync(new URL(`../../../fixtures/batch/${name}`, import.meta.url));
const rec = (s: string) => `${s.padEnd(40, ' ')}\r\n`;
const buf = (...records: string[]) => Buffer.from(records.join(''), 'latin1');

describe('TPU answers (BATCH.md §2)', () => {
  it('when an ACK carries every result code, then each record gets its translated outcome and the counts', () => {
    const a = parseTpuAnswer('TPU_20261127_001.ACK', fixture('TPU_20261127_001.ACK'));
    expect(a).toMatchObject({ kind: 'ack', fileName: 'TPU_20261127_001.DAT', processedOn: '2026-11-28', applied: 1, rejected: 3 });
    if (a.kind !== 'ack') throw new Error('not an ack');
    expect(a.results.count).toBe(4);
    expect([...a.results]).toEqual([
        { recordNo: 1, terminalId: 'T0000001', outcome: 'applied' },
        { recordNo: 2, terminalId: 'A1B2C3D4', outcome: 'rejected', reason: 'terminal.invalid_settings' },
        { recordNo: 3, terminalId: 'T0000003', outcome: 'rejected', reason: 'terminal.not_found' },
        { recordNo: 4, terminalId: 'T0000004', outcome: 'rejected', reason: 'terminal.decommissioned' },
    ]);
    expect(JSON.stringify([...a.results])).not.toMatch(/"(R\d{3}|0000)"/);
  });

  it('when an ACK lists its results out of order, then each is read by its record no', () => {
    const H = 'HTPU_20261127_001.DAT20261128';
    const a = parseTpuAnswer('TPU_20261127_001.ACK', buf(rec(H), rec('D000003T0000003R202'), rec('D000001T00000010000'), rec('D000002T00000020000'), rec('T000002000001')));
    if (a.kind !== 'ack') throw new Error('not an ack');
    expect(a.results.get(3)).toEqual({ recordNo: 3, terminalId: 'T0000003', outcome: 'rejected', reason: 'terminal.not_found' });
    expect([...a.results].map((r) => `${r.recordNo}:${r.terminalId}:${r.outcome}`)).toEqual(['1:T0000001:applied', '2:T0000002:applied', '3:T0000003:rejected']);
  });

  it('when an ACK answers an empty file, then it has no records and zero counts', () => {
    const a = parseTpuAnswer('TPU_20261231_999.ACK', fixture('TPU_20261231_999.ACK'));
    expect(a).toMatchObject({ kind: 'ack', applied: 0, rejected: 0 });
    expect(a.kind === 'ack' && [...a.results]).toEqual([]);
  });

  it.each([
    ['TPU_20261127_002.NAK', 'batch.bad_header'],
    ['TPU_20261127_003.NAK', 'batch.count_mismatch'],
    ['TPU_20261127_004.NAK', 'batch.hash_mismatch'],
    ['TPU_20261127_005.NAK', 'batch.bad_layout'],
  ])('when a NAK is %s, then its reason is %s', (name, reason) => {
    expect(parseTpuAnswer(name, fixture(name))).toEqual({ kind: 'nak', fileName: name.replace('.NAK', '.DAT'), reason });
  });

  it('when a DUP arrives, then it reads as a duplicate name', () => {
    expect(parseTpuAnswer('TPU_20261127_001.DUP', fixture('TPU_20261127_001.DUP'))).toEqual({
      kind: 'dup',
      fileName: 'TPU_20261127_001.DAT',
      reason: 'batch.duplicate_name',
    });
  });

  const H = 'HTPU_20261127_001.DAT20261128';
  const D = 'D000001T00000010000';
  it.each([
    ['an empty file', 'TPU_20261127_001.ACK', Buffer.alloc(0), /empty/],
    ['no CRLF after the last record', 'TPU_20261127_001.ACK', Buffer.from(rec(H) + rec(D) + 'T000001000000'.padEnd(40)), /CRLF/],
    ['an LF-only line ending', 'TPU_20261127_001.ACK', Buffer.from(`${H.padEnd(40)}\n${rec(D)}${rec('T000001000000')}`), /line 1: record length/],
    ['a short record', 'TPU_20261127_001.ACK', buf(rec(H), `${D}\r\n`, rec('T000001000000')), /line 2: record length 19/],
    ['a blank line', 'TPU_20261127_001.ACK', buf(rec(H), '\r\n', rec(D), rec('T000001000000')), /line 2: record length 0/],
    ['a header naming another file', 'TPU_20261127_001.ACK', buf(rec('HTPU_20261127_002.DAT20261128'), rec(D), rec('T000001000000')), /names TPU_20261127_002.DAT/],
    ['a bad processing date', 'TPU_20261127_001.ACK', buf(rec('HTPU_20261127_001.DAT20261332'), rec(D), rec('T000001000000')), /calendar date/],
    ['an unknown result code', 'TPU_20261127_001.ACK', buf(rec(H), rec('D000001T0000001R999'), rec('T000000000001')), /unknown result code R999/],
    ['a non-digit record number', 'TPU_20261127_001.ACK', buf(rec(H), rec('D00000AT00000010000'), rec('T000001000000')), /record no is not all digits/],
    ['a record number no record of the file has (one result each: 1..count)', 'TPU_20261127_001.ACK', buf(rec(H), rec('D000002T00000010000'), rec('T000001000000')), /record no 2, but the answer has 1 results/],
    ['a record answered twice', 'TPU_20261127_001.ACK', buf(rec(H), rec(D), rec(D), rec('T000002000000')), /answered twice/],
    ['a wrong applied count', 'TPU_20261127_001.ACK', buf(rec(H), rec(D), rec('T000002000000')), /applied count 2, but 1/],
    ['a wrong rejected count', 'TPU_20261127_001.ACK', buf(rec(H), rec(D), rec('T000001000001')), /rejected count 1, but 0/],
    ['no trailer', 'TPU_20261127_001.ACK', buf(rec(H), rec(D)), /not a trailer/],
    ['a trailer in the middle', 'TPU_20261127_001.ACK', buf(rec(H), rec('T000000000000'), rec(D), rec('T000001000000')), /T record out of order/],
    ['garbage in the filler', 'TPU_20261127_001.ACK', buf(rec(H), rec(`${D}  X`), rec('T000001000000')), /must be spaces/],
    ['a lowercase letter', 'TPU_20261127_001.ACK', buf(rec(H), rec('D000001t00000010000'), rec('T000001000000')), /lowercase/],
    ['a byte outside printable ASCII', 'TPU_20261127_001.ACK', Buffer.concat([buf(rec(H)), Buffer.from(`${D}\u00e9`.padEnd(40) + '\r\n', 'latin1'), buf(rec('T000001000000'))]), /printable ASCII/],
    ['an unknown NAK reason', 'TPU_20261127_002.NAK', buf(rec('F009')), /unknown NAK reason F009/],
    ['a NAK with a second record', 'TPU_20261127_002.NAK', buf(rec('F001'), rec('F002')), /2 records, expected exactly one/],
    ['a NAK reason F004 (only a DUP carries it)', 'TPU_20261127_002.NAK', buf(rec('F004')), /unknown NAK reason F004/],
    ['a DUP with another reason', 'TPU_20261127_001.DUP', buf(rec('F001')), /must carry F004/],
    ['a name that is not an answer', 'TPU_20261127_001.TXT', buf(rec('F001')), /not an answer name/],
  ])('when an answer has %s, then parsing fails with a clear error, never a guess', (_what, name, content, message) => {
    expect(() => parseTpuAnswer(name, content)).toThrowError(expect.objectContaining({ code: 'batch.answer_invalid', message: expect.stringMatching(message) }) as Error);
  });

  it.each([
    ['TPU_20261127_001.ACK', { fileName: 'TPU_20261127_001.DAT', kind: 'ack' }],
    ['TPU_20261127_001.NAK', { fileName: 'TPU_20261127_001.DAT', kind: 'nak' }],
    ['TPU_20261127_001.DUP', { fileName: 'TPU_20261127_001.DAT', kind: 'dup' }],
    ['TPU_20261127_001.DAT', null],
    ['TERMSTAT_20261127.DAT', null],
    ['TPU_20261127_001.ACK.tmp', null],
  ])('when an outbox name is %s, then it reads as %o', (name, expected) => {
    expect(parseAnswerName(name)).toEqual(expected);
  });

  it('when asked for the answer names of a file, then all three kinds come back', () => {
    expect(answerNames('TPU_20261127_001.DAT').map((a) => a.name)).toEqual(['TPU_20261127_001.ACK', 'TPU_20261127_001.NAK', 'TPU_20261127_001.DUP']);
  });
});

describe('TPU answers written independently (fixtures/batch/answers, make-fixtures.py)', () => {
  const dir = new URL('../../../fixtures/batch/answers/', import.meta.url);
  const names = readdirSync(dir).sort();

  it.each(names.filter((n) => parseAnswerName(n) !== null))('when %s is parsed, then it reads without error', (name) => {
    const a = parseTpuAnswer(name, readFileSync(new URL(name, dir)));
    expect(a.fileName).toBe(name.replace(/\.(ACK|NAK|DUP)$/, '.DAT'));
    if (a.kind === 'ack') expect(a.results.count).toBe(a.applied + a.rejected);
  });

  it('when an answer name breaks the naming rule (TPU_2026112_013.NAK), then it is not taken for an answer', () => {
    expect(names).toContain('TPU_2026112_013.NAK');
    expect(parseAnswerName('TPU_2026112_013.NAK')).toBeNull();
  });
});
