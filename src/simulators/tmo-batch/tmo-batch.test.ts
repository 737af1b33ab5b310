import { copyFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTmoSimulator, type TmoSimulator } from '../index.ts';
import { merchantSeed } from '../test-support.ts';
import { createTmoBatch, syntheticTermstat, writeSyntheticTermstat, type TmoBatch } from './index.ts';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/batch/', import.meta.url));
const SEEDED_AT = Date.UTC(2026, 10, 27, 9, 15, 30);
const PROCESSED_AT = Date.UTC(2026, 10, 28, 3, 0, 0);

let clock = SEEDED_AT;
let tmo: TmoSimulator;
let root: string;
let batch: TmoBatch;

/** The terminals fixtures/batch/make-fixtures.py assumes (README there). */
function seedGoldenTerminals(sim: TmoSimulator): void {
  const mid1 = sim.state.seedMerchant(merchantSeed('01234567890'));
  const mid2 = sim.state.seedMerchant(merchantSeed('09876543210'));
  expect([mid1, mid2]).toEqual(['000000000000001', '000000000000002']);
  const rows: Array<[string, string, 'AC' | 'DC' | 'SU' | 'PE']> = [
    ['TERM0001', mid1, 'AC'],
    ['TERM0002', mid1, 'DC'],
    ['TERM0003', mid2, 'SU'],
    ['TERM0004', mid2, 'AC'],
    ['TERM0005', mid2, 'AC'],
    ['TERM0006', mid2, 'AC'],
    ['TERM0007', mid2, 'SU'],
    ['TERM0008', mid2, 'PE'],
  ];
  for (const [TID, mid, STATUS] of rows) sim.state.seedTerminal(mid, { TID, STATUS });
}

const inbox = (name: string) => join(root, 'inbox', name);
const outbox = (name: string) => join(root, 'outbox', name);
const deliver = (name: string) => copyFile(join(FIXTURES, 'tpu', name), inbox(name));
const expected = (name: string) => readFile(join(FIXTURES, 'answers', name));

beforeEach(async () => {
  clock = SEEDED_AT;
  tmo = await startTmoSimulator({ now: () => clock });
  seedGoldenTerminals(tmo);
  root = await mkdtemp(join(tmpdir(), 'tmo-batch-'));
  batch = createTmoBatch({
    root,
    state: tmo.state,
    now: () => clock,
    activity: (tid) => (tid === 'TERM0001' ? { transactions: 12, amountCents: 345678 } : { transactions: 0, amountCents: 0 }),
  });
  await batch.ensureFolders();
  clock = PROCESSED_AT;
});

afterEach(async () => {
  await tmo.close();
  await rm(root, { recursive: true, force: true });
});

describe('TMO batch simulator: TPU pick-up (BATCH.md §1–2, golden files)', () => {
  it('when the golden TPU file arrives, then the ACK equals fixtures/batch/answers byte for byte and only 0000 records are applied', async () => {
    await deliver('TPU_20261127_001.DAT');
    const [pickup] = await batch.processInbox();
    expect(pickup).toMatchObject({ name: 'TPU_20261127_001.DAT', answer: 'ACK', applied: 2, rejected: 7 });
    expect(await readFile(outbox('TPU_20261127_001.ACK'))).toEqual(await expected('TPU_20261127_001.ACK'));
    expect(tmo.state.terminal('TERM0001')?.SETTINGS).toEqual({
      CTLS_LIMIT: '005000',
      TIPPING: 'Y',
      CONTACTLESS: 'Y',
      RECEIPT_LINE_1: 'GRAZIE E ARRIVEDERCI',
      RECEIPT_LINE_2: '',
      LANGUAGE: 'IT',
    });
    expect(tmo.state.terminal('TERM0007')).toMatchObject({ CONTACTLESS: 'N', SETTINGS: { CONTACTLESS: 'N', CTLS_LIMIT: '000000' } });
    for (const tid of ['TERM0002', 'TERM0003', 'TERM0004', 'TERM0005', 'TERM0006']) {
      expect(tmo.state.terminal(tid)?.SETTINGS, tid).toBeNull();
      expect(tmo.state.settingsApplications(tid), tid).toEqual([]);
    }
    expect(tmo.state.settingsApplications('TERM0001')).toMatchObject([{ file: 'TPU_20261127_001.DAT', recordNo: 1, at: PROCESSED_AT }]);
    expect(tmo.state.settingsApplicationCount()).toBe(2);
  });

  it('when a file is picked up, then it is consumed from /inbox and no temporary answer is left behind', async () => {
    await deliver('TPU_20261127_001.DAT');
    await batch.processInbox();
    expect(await readdir(join(root, 'inbox'))).toEqual([]);
    expect((await readdir(join(root, 'outbox'))).sort()).toEqual(['TPU_20261127_001.ACK', 'archive', 'error']);
  });

  it('when a TPU file has no details, then the ACK has a header and a zero trailer', async () => {
    await deliver('TPU_20261127_011.DAT');
    await batch.processInbox();
    expect(await readFile(outbox('TPU_20261127_011.ACK'))).toEqual(await expected('TPU_20261127_011.ACK'));
  });

  it.each([
    ['TPU_20261127_002', 'F002', 'trailer count differs from the details'],
    ['TPU_20261127_003', 'F003', 'MID hash total differs'],
    ['TPU_20261127_004', 'F001', "header date differs from the name's"],
    ['TPU_20261127_005', 'F005', 'LF instead of CRLF'],
    ['TPU_20261127_006', 'F005', 'a 119-character record'],
    ['TPU_20261127_007', 'F005', 'a letter in a MID'],
    ['TPU_20261127_008', 'F005', 'record numbers skip one'],
    ['TPU_20261127_009', 'F005', 'a byte outside printable ASCII'],
    ['TPU_20261127_010', 'F005', 'no trailer'],
    ['TPU_20261127_012', 'F001', 'sender in lowercase'],
    ['TPU_2026112_013', 'F001', 'a bad name'],
    ['TPU_20261127_014', 'F005', 'a letter in the trailer count'],
  ])('when %s.DAT arrives (%s: %s), then the NAK equals the golden file and nothing is applied', async (base, reason) => {
    await deliver(`${base}.DAT`);
    const [pickup] = await batch.processInbox();
    expect(pickup).toMatchObject({ answer: 'NAK', reason });
    expect(await readFile(outbox(`${base}.NAK`))).toEqual(await expected(`${base}.NAK`));
    expect(tmo.state.settingsApplicationCount()).toBe(0);
  });

  it('when a used name arrives again, then TMO answers .DUP F004, applies nothing and the first ACK stays as it was', async () => {
    await deliver('TPU_20261127_001.DAT');
    await batch.processInbox();
    const firstAck = await readFile(outbox('TPU_20261127_001.ACK'));
    await deliver('TPU_20261127_001.DAT');
    const [again] = await batch.processInbox();
    expect(again).toMatchObject({ answer: 'DUP', reason: 'F004' });
    expect(await readFile(outbox('TPU_20261127_001.DUP'))).toEqual(await expected('TPU_20261127_001.DUP'));
    expect(await readFile(outbox('TPU_20261127_001.ACK'))).toEqual(firstAck);
    expect(tmo.state.settingsApplications('TERM0001')).toHaveLength(1);
  });

  it('when a refused (NAK) name is sent again, then it is a DUP too: every picked-up name counts as used', async () => {
    await deliver('TPU_20261127_002.DAT');
    await batch.processInbox();
    await deliver('TPU_20261127_002.DAT');
    const [again] = await batch.processInbox();
    expect(again?.answer).toBe('DUP');
    expect(await readFile(outbox('TPU_20261127_002.NAK'))).toEqual(await expected('TPU_20261127_002.NAK'));
  });

  it('when /inbox holds .PART and other names, then only .DAT files are picked up', async () => {
    await copyFile(join(FIXTURES, 'tpu', 'TPU_20261127_001.DAT'), inbox('TPU_20261127_001.DAT.PART'));
    await writeFile(inbox('TPU_20261127_001.dat'), 'x');
    await writeFile(inbox('README.TXT'), 'x');
    expect(await batch.processInbox()).toEqual([]);
    expect((await readdir(join(root, 'inbox'))).sort()).toEqual(['README.TXT', 'TPU_20261127_001.DAT.PART', 'TPU_20261127_001.dat']);
    expect(tmo.state.settingsApplicationCount()).toBe(0);
  });

  it('when two rounds run at once, then each file is answered once', async () => {
    await deliver('TPU_20261127_001.DAT');
    const [a, b] = await Promise.all([batch.processInbox(), batch.processInbox()]);
    expect(a).toBe(b);
    expect(tmo.state.settingsApplicationCount()).toBe(2);
    expect(await readdir(join(root, 'outbox'))).not.toContain('TPU_20261127_001.DUP');
  });
});

describe('TMO batch simulator: TERMSTAT (BATCH.md §3)', () => {
  it('when a snapshot is published, then the .DAT equals the golden file and the empty .OK follows', async () => {
    const out = await batch.publishTermstat('20261127');
    expect(out).toEqual({ path: '/outbox/TERMSTAT_20261127.DAT', records: 8, bytes: 10 * 82 });
    expect(await readFile(outbox('TERMSTAT_20261127.DAT'))).toEqual(await readFile(join(FIXTURES, 'termstat', 'TERMSTAT_20261127.DAT')));
    expect((await stat(outbox('TERMSTAT_20261127.OK'))).size).toBe(0);
  });

  it('when a date is not YYYYMMDD, then publishing refuses it', async () => {
    await expect(batch.publishTermstat('2026-11-27')).rejects.toThrow(RangeError);
  });
});

describe('synthetic TERMSTAT generator', () => {
  it('when N records are generated, then the file has N+2 records of 80 characters + CRLF and a trailer that matches', async () => {
    const path = join(root, 'synthetic.DAT');
    const { bytes } = await writeSyntheticTermstat(path, { date: '20261127', records: 4321, chunkRecords: 1000 });
    expect(bytes).toBe(4323 * 82);
    const text = await readFile(path, 'latin1');
    const records = text.split('\r\n');
    expect(records.pop()).toBe('');
    expect(records.every((r) => r.length === 80)).toBe(true);
    let total = 0n;
    for (const r of records.slice(1, -1)) total += BigInt(r.slice(47, 59));
    const trailer = records.at(-1) ?? '';
    expect(trailer.slice(0, 8)).toBe('T0004321');
    expect(BigInt(trailer.slice(8, 20))).toBe(total % 10n ** 12n);
    expect(new Set(records.slice(1, -1).map((r) => r.slice(1, 9))).size).toBe(4321);
  });

  it('when a changed fraction is asked for, then about that share of statuses differ from the base night', async () => {
    const collect = async (changedFraction: number) => {
      const chunks: Buffer[] = [];
      for await (const c of syntheticTermstat({ date: '20261127', records: 10_000, changedFraction })) chunks.push(c);
      return Buffer.concat(chunks).toString('latin1').split('\r\n').slice(1, -2).map((r) => r.slice(24, 26));
    };
    const [base, next] = await Promise.all([collect(0), collect(0.02)]);
    const changed = base.filter((s, i) => s !== next[i]).length;
    expect(changed).toBeGreaterThan(100);
    expect(changed).toBeLessThan(300);
  });
});
