import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { sumMod12, termstatDetail, termstatHeader, termstatTrailer, type TermstatStatus } from './layouts.ts';

/** Options of the synthetic TERMSTAT generator (benches, large-file tests). */
export interface SyntheticTermstatOptions {
  /** snapshot date `YYYYMMDD` */
  date: string;
  /** detail records (up to 9,999,999; BATCH.md expects up to 2,000,000) */
  records: number;
  /** varies statuses and figures; same seed = same file (default 1) */
  seed?: number;
  /**
   * Fraction 0..1 of terminals whose status differs from the seed-only draw, to simulate the
   * status changes between two nights: generate night 1 with 0 and night 2 with e.g. 0.01.
   */
  changedFraction?: number;
  /** records per yielded chunk (default 2,000, ≈ 164 KB) */
  chunkRecords?: number;
}

const STATUS_CYCLE: readonly TermstatStatus[] = ['AC', 'SU', 'DC', 'PE'];

/** Deterministic 32-bit hash of (i, salt). */
function mix(i: number, salt: number): number {
  let h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(salt + 0x632be5ab, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The synthetic TID of record `i` (0-based): `S` + 7 digits. */
export const syntheticTid = (i: number): string => `S${String(i).padStart(7, '0')}`;

/**
 * A synthetic TERMSTAT file (BATCH.md §3) as chunks of bytes, in constant memory: TIDs
 * `S0000000` upward, 20 terminals per MID, mostly `AC`, a valid trailer. Usable as the `data` of
 * `FileTransferPort.upload` or written with {@link writeSyntheticTermstat}.
 */
export async function* syntheticTermstat(opts: SyntheticTermstatOptions): AsyncGenerator<Buffer> {
  const seed = opts.seed ?? 1;
  const changed = opts.changedFraction ?? 0;
  const per = opts.chunkRecords ?? 2_000;
  if (!Number.isInteger(opts.records) || opts.records < 0 || opts.records > 9_999_999) {
    throw new RangeError('records must be an integer 0–9,999,999');
  }
  yield Buffer.from(termstatHeader(opts.date), 'latin1');
  let total = 0;
  let buffer = '';
  for (let i = 0; i < opts.records; i++) {
    const h = mix(i, seed);
    // 85 % AC, 6 % SU, 5 % DC, 4 % PE
    const draw = h % 100;
    let s = draw < 85 ? 0 : draw < 91 ? 1 : draw < 96 ? 2 : 3;
    if (changed > 0 && mix(i, seed + 7919) / 0x1_0000_0000 < changed) s = (s + 1) % STATUS_CYCLE.length;
    const status = STATUS_CYCLE[s] ?? 'AC';
    const seen = status !== 'PE';
    const transactions = status === 'AC' ? (h >>> 8) % 120 : 0;
    const amountCents = transactions * (100 + ((h >>> 4) % 8000));
    const secs = (h >>> 12) % 86_400;
    const time = `${String(Math.floor(secs / 3600)).padStart(2, '0')}${String(Math.floor(secs / 60) % 60).padStart(2, '0')}${String(secs % 60).padStart(2, '0')}`;
    buffer += termstatDetail({
      tid: syntheticTid(i),
      mid: String(Math.floor(i / 20) + 1).padStart(15, '0'),
      status,
      lastSeenDate: seen ? opts.date : '',
      lastSeenTime: seen ? time : '',
      transactions,
      amountCents,
    });
    total = sumMod12(total, String(amountCents));
    if ((i + 1) % per === 0) {
      yield Buffer.from(buffer, 'latin1');
      buffer = '';
    }
  }
  yield Buffer.from(buffer + termstatTrailer(opts.records, total), 'latin1');
}

/** Streams {@link syntheticTermstat} into a local file (with backpressure); returns its size. */
export async function writeSyntheticTermstat(path: string, opts: SyntheticTermstatOptions): Promise<{ bytes: number }> {
  const out = createWriteStream(path);
  let bytes = 0;
  try {
    for await (const chunk of syntheticTermstat(opts)) {
      bytes += chunk.length;
      if (!out.write(chunk)) await once(out, 'drain');
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  return { bytes };
}
