import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { SettingsChangeRecord } from '../../domain/terminal-settings.ts';
import { parseTpuFileName, tpuDetail, tpuFileName, writeTpu } from './tpu.ts';

const fixture = (name: string) => readFileSync(new URL(`../../../fixtures/batch/${name}`, import.meta.url));

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}

const base: SettingsChangeRecord = {
  terminalId: 'T0000001',
  tmoMerchantId: '123456789012345',
  settings: { tipping: true, contactless: true, contactlessLimit: { amount: 5000, currency: 'EUR' }, receiptLines: ['Caffè Roma – Via Po 1', ''], language: 'it' },
};
const second: SettingsChangeRecord = {
  terminalId: 'A1B2C3D4',
  tmoMerchantId: '987654321098765',
  settings: { tipping: false, contactless: false, contactlessLimit: { amount: 0, currency: 'EUR' }, receiptLines: ['Grazie e arrivederci!', 'Straße 5'], language: 'de' },
};

describe('TPU writer (BATCH.md §1)', () => {
  it('when two changes are written, then the file equals the hand-written golden file byte for byte', async () => {
    const out = await collect(writeTpu({ date: '2026-11-27', seq: 1 }, [base, second]));
    expect(out.equals(fixture('TPU_20261127_001.DAT'))).toBe(true);
  });

  it('when nothing is pending, then the file is a header and a zero trailer (golden file)', async () => {
    const out = await collect(writeTpu({ date: '2026-12-31', seq: 999 }, []));
    expect(out.equals(fixture('TPU_20261231_999.DAT'))).toBe(true);
  });

  it('when records come from an async source in tiny chunks, then the bytes are the same and every record is 120 + CRLF', async () => {
    async function* source() {
      yield base;
      yield second;
    }
    const out = await collect(writeTpu({ date: '2026-11-27', seq: 1 }, source(), { chunkBytes: 1 }));
    expect(out.equals(fixture('TPU_20261127_001.DAT'))).toBe(true);
    const text = out.toString('latin1');
    expect(text.endsWith('\r\n')).toBe(true);
    for (const line of text.slice(0, -2).split('\r\n')) expect(line).toHaveLength(120);
  });

  it('when the MIDs sum past 10^12, then the trailer carries the sum modulo 10^12', async () => {
    const mids = ['999999999999999', '999999999999999', '000000000000002'];
    const recs = mids.map((m, i) => ({ ...base, terminalId: `T000000${i}`, tmoMerchantId: m }));
    const text = (await collect(writeTpu({ date: '2026-11-27', seq: 2 }, recs))).toString('latin1');
    const trailer = text.trimEnd().split('\r\n').at(-1) ?? '';
    // 999999999999 + 999999999999 + 2 = 2000000000000 → 000000000000
    expect(trailer.slice(0, 19)).toBe('T000003000000000000');
  });

  it('when a terminal appears twice, then the writer refuses (TMO would reject both with R101)', async () => {
    await expect(collect(writeTpu({ date: '2026-11-27', seq: 1 }, [base, base]))).rejects.toMatchObject({ code: 'batch.invalid_record' });
  });

  it.each([
    ['terminalId', { ...base, terminalId: 't0000001' }],
    ['tmoMerchantId', { ...base, tmoMerchantId: '12345678901234X' }],
    ['contactlessLimit.amount', { ...base, settings: { ...base.settings, contactlessLimit: { amount: 1_000_000, currency: 'EUR' as const } } }],
    ['contactlessLimit.amount', { ...base, settings: { ...base.settings, contactlessLimit: { amount: 1.5, currency: 'EUR' as const } } }],
  ])('when %s is out of the layout, then the detail is refused naming it', (field, rec) => {
    expect(() => tpuDetail(1, rec)).toThrowError(expect.objectContaining({ fields: [expect.objectContaining({ field })] }) as Error);
  });

  it.each([
    ['a receipt line longer than 40', 'x'.repeat(50), 'X'.repeat(40)],
    ['lowercase and accents', 'Crème brûlée ß', 'CREME BRULEE SS'],
    ['leading spaces and control characters', '  \tHello\u0007 world', 'HELLO WORLD'],
  ])('when a receipt line has %s, then it is transliterated to printable upper-case ASCII within 40', (_what, input, expected) => {
    const line = tpuDetail(1, { ...base, settings: { ...base.settings, receiptLines: [input, ''] } });
    expect(line.slice(38, 78)).toBe(expected.padEnd(40, ' '));
    expect(line).toMatch(/^[\x20-\x5F\x7B-\x7E]{120}$/);
  });

  it.each([
    [{ date: '2026-11-27', seq: 1 }, 'TPU_20261127_001.DAT'],
    [{ date: '2026-01-02', seq: 42 }, 'TPU_20260102_042.DAT'],
    [{ date: '2026-01-02', seq: 999 }, 'TPU_20260102_999.DAT'],
  ])('when the file is %o, then its name is %s and parses back', (id, name) => {
    expect(tpuFileName(id)).toBe(name);
    expect(parseTpuFileName(name)).toEqual(id);
  });

  it.each([0, 1000, 1.5])('when the sequence is %s, then no name is made', (seq) => {
    expect(() => tpuFileName({ date: '2026-11-27', seq })).toThrow(/seq/);
  });

  it.each(['tpu_20261127_001.DAT', 'TPU_20261127_001.DAT.PART', 'TPU_20261127_01.DAT', 'TPU_20261127_000.DAT'])(
    'when a name is %s, then it is not a TPU file name',
    (name) => expect(parseTpuFileName(name)).toBeNull(),
  );
});
