// BATCH.md §3 (TERMSTAT — daily terminal snapshot) and the file rules at the top of BATCH.md
// (fixed-width ASCII records, CRLF after every record, nothing after the last CRLF); folder
// names from SFTP-NOTES.md / BATCH.md "Folders on the TMO server".
//
// Parsed from Buffers at byte offsets: a 2,000,000-record file must stream through at well over
// 150,000 records/s in constant memory, so no line splitting, no regexes and no string
// concatenation per record; only the fields the clean record keeps become strings.
import { CorruptFileError } from '../../domain/errors/index.ts';
import type { LifecycleStatus } from '../../domain/model.ts';
import type {
  TerminalSnapshotFormat,
  TerminalSnapshotParser,
  TerminalSnapshotRecord,
  TerminalSnapshotSink,
  TerminalSnapshotSummary,
} from '../../domain/terminal-snapshot.ts';
import { wallClockToEpochMs } from '../common/dates.ts';
import { TMO_STATUS } from '../tmo/codes.ts';

/** Record length without the CRLF. */
export const TERMSTAT_RECORD_LENGTH = 80;
const STRIDE = TERMSTAT_RECORD_LENGTH + 2;
const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;
const AMOUNT_MODULUS = 1_000_000_000_000;

const H = 0x48;
const D = 0x44;
const T = 0x54;
const MAGIC = Buffer.from('TERMSTAT', 'latin1');

/** `PE`/`AC`/`SU`/`DC` by their two bytes (`b0 << 8 | b1`), the same vocabulary as the SOAP translators. */
const STATUS_BY_BYTES = new Map<number, LifecycleStatus>(
  Object.entries(TMO_STATUS).map(([code, status]) => [(code.charCodeAt(0) << 8) | code.charCodeAt(1), status]),
);

/** `TERMSTAT_<YYYYMMDD>.DAT` / `.OK`, exactly (case-sensitive, like the TPU names). */
const NAME = /^TERMSTAT_(\d{4})(\d{2})(\d{2})\.(DAT|OK)$/;

function isValidDate(year: number, month: number, day: number): boolean {
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const d = new Date(Date.UTC(2000, month - 1, day));
  d.setUTCFullYear(year);
  return d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/** Reads `len` ASCII digits at `at`; -1 when any byte is not a digit. */
function digits(buf: Uint8Array, at: number, len: number): number {
  let n = 0;
  for (let i = at; i < at + len; i++) {
    const d = (buf[i] as number) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function allSpaces(buf: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== SPACE) return false;
  return true;
}

function isTidByte(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a);
}

/** Printable for an error message: a short ASCII rendering, never more than `max` characters. */
function show(buf: Uint8Array, from: number, len: number): string {
  let s = '';
  for (let i = from; i < from + len && i < buf.length; i++) {
    const b = buf[i] as number;
    s += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return s;
}

/**
 * Why the line starting at `start` is not 80 bytes + CRLF. `buf` holds at least STRIDE bytes
 * from `start` (or everything up to the end of the input when `atEnd`).
 */
function framingFault(buf: Uint8Array, start: number, end: number): string {
  for (let i = start; i < end; i++) {
    const b = buf[i] as number;
    if (b === LF) {
      const crlf = i > start && buf[i - 1] === CR;
      if (!crlf) return `line ends with LF without CR (after ${i - start} bytes)`;
      return `record is ${i - 1 - start} bytes, expected ${TERMSTAT_RECORD_LENGTH}`;
    }
    if (b === CR && i - start !== TERMSTAT_RECORD_LENGTH && buf[i + 1] !== LF && i + 1 < end) {
      return `line ends with CR without LF (after ${i - start} bytes)`;
    }
  }
  return end - start >= STRIDE
    ? `record is longer than ${TERMSTAT_RECORD_LENGTH} bytes (no CRLF after byte ${TERMSTAT_RECORD_LENGTH})`
    : `the last ${end - start} bytes are not a complete record ending in CRLF`;
}

/**
 * Epoch ms of the wall-clock time in `timeZone` (NaN for an impossible date), with a memo of
 * the last day's validity and zone offset: a snapshot's last-seen dates are mostly a few days.
 */
function instantConverter(timeZone: string) {
  let lastDay = -1;
  let lastMidnightMs = 0;
  let lastOffsetMs: number | null = null;
  return (year: number, month: number, day: number, hour: number, minute: number, second: number): number => {
    const dayKey = year * 10_000 + month * 100 + day;
    if (dayKey !== lastDay) {
      if (!isValidDate(year, month, day)) return Number.NaN;
      lastDay = dayKey;
      lastMidnightMs = Date.UTC(year, month - 1, day);
      // one offset for noon-to-noon either side of the day means no transition within it
      const a = wallClockToEpochMs({ year, month, day, hour: 0, minute: 0, second: 0 }, timeZone);
      const b = wallClockToEpochMs({ year, month, day, hour: 23, minute: 59, second: 59 }, timeZone);
      lastOffsetMs = lastMidnightMs - a === lastMidnightMs + 86_399_000 - b ? lastMidnightMs - a : null;
    }
    return lastOffsetMs === null
      ? wallClockToEpochMs({ year, month, day, hour, minute, second }, timeZone)
      : lastMidnightMs + ((hour * 60 + minute) * 60 + second) * 1000 - lastOffsetMs;
  };
}

/**
 * A streaming TERMSTAT parser (BATCH.md §3). `timeZone` is the zone of the last-seen wall
 * clock (`LEGACY_TIME_ZONE`); `expectedDate` (ISO) makes a header of another date corrupt
 * (the header must match the file name).
 */
export function createTermstatParser(options: { timeZone: string; expectedDate?: string }): TerminalSnapshotParser {
  const toInstant = instantConverter(options.timeZone);
  /** bytes of an incomplete record carried from the previous chunk (< STRIDE) */
  const carry = Buffer.alloc(STRIDE);
  let carried = 0;
  let line = 0;
  let phase: 'header' | 'details' | 'done' = 'header';
  let snapshotDate: string | null = null;
  let count = 0;
  let amountSum = 0;
  let trailer: TerminalSnapshotSummary | null = null;

  const corrupt = (reason: string, at: number | null = line) => new CorruptFileError(reason, at);

  function header(buf: Uint8Array, s: number): void {
    if (buf[s] !== H) throw corrupt(`expected the header (H) first, found record type '${show(buf, s, 1)}'`);
    const year = digits(buf, s + 1, 4);
    const month = digits(buf, s + 5, 2);
    const day = digits(buf, s + 7, 2);
    if (year < 0 || month < 0 || day < 0 || !isValidDate(year, month, day)) {
      throw corrupt('header snapshot date (positions 2–9) is not a valid YYYYMMDD date');
    }
    for (let i = 0; i < MAGIC.length; i++) {
      if (buf[s + 9 + i] !== MAGIC[i]) throw corrupt(`header positions 10–17 must be TERMSTAT, found '${show(buf, s + 9, 8)}'`);
    }
    if (!allSpaces(buf, s + 17, s + 80)) throw corrupt('header positions 18–80 must be spaces');
    snapshotDate = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
    if (options.expectedDate !== undefined && snapshotDate !== options.expectedDate) {
      throw corrupt(`header snapshot date ${snapshotDate} does not match the file name's ${options.expectedDate}`);
    }
    phase = 'details';
  }

  function detail(buf: Buffer, s: number, sink: TerminalSnapshotSink): void {
    for (let i = s + 1; i < s + 9; i++) {
      if (!isTidByte(buf[i] as number)) throw corrupt('TID (positions 2–9) must be 8 characters A–Z, 0–9');
    }
    for (let i = s + 9; i < s + 24; i++) {
      const b = buf[i] as number;
      if (b < 0x30 || b > 0x39) throw corrupt('MID (positions 10–24) must be 15 digits');
    }
    const status = STATUS_BY_BYTES.get(((buf[s + 24] as number) << 8) | (buf[s + 25] as number));
    if (status === undefined) throw corrupt(`STATUS (positions 25–26) '${show(buf, s + 24, 2)}' is not one of PE, AC, SU, DC`);
    const year = digits(buf, s + 26, 4);
    const month = digits(buf, s + 30, 2);
    const day = digits(buf, s + 32, 2);
    const hour = digits(buf, s + 34, 2);
    const minute = digits(buf, s + 36, 2);
    const second = digits(buf, s + 38, 2);
    if (year < 0 || month < 0 || day < 0) throw corrupt('last seen date (positions 27–34) must be 8 digits');
    if (hour < 0 || minute < 0 || second < 0) throw corrupt('last seen time (positions 35–40) must be 6 digits');
    let lastSeenMs = Number.NaN;
    if (year === 0 && month === 0 && day === 0) {
      if (hour !== 0 || minute !== 0 || second !== 0) throw corrupt('last seen time must be 000000 when the date is 00000000 (never seen)');
    } else {
      if (hour > 23 || minute > 59 || second > 59) throw corrupt('last seen time (positions 35–40) is not a valid HHMMSS time');
      lastSeenMs = toInstant(year, month, day, hour, minute, second);
      if (Number.isNaN(lastSeenMs)) throw corrupt('last seen date (positions 27–34) is not a valid date');
    }
    const transactionCount = digits(buf, s + 40, 7);
    if (transactionCount < 0) throw corrupt('transaction count (positions 41–47) must be 7 digits');
    const amount = digits(buf, s + 47, 12);
    if (amount < 0) throw corrupt('amount (positions 48–59) must be 12 digits');
    if (!allSpaces(buf, s + 59, s + 80)) throw corrupt('detail positions 60–80 must be spaces');
    count += 1;
    amountSum = (amountSum + amount) % AMOUNT_MODULUS;
    sink.record(buf, s + 1, s + 9, status, lastSeenMs, transactionCount, amount, line);
  }

  function trailerRecord(buf: Uint8Array, s: number): void {
    const declared = digits(buf, s + 1, 7);
    if (declared < 0) throw corrupt('trailer detail count (positions 2–8) must be 7 digits');
    const total = digits(buf, s + 8, 12);
    if (total < 0) throw corrupt('trailer amount total (positions 9–20) must be 12 digits');
    if (!allSpaces(buf, s + 20, s + 80)) throw corrupt('trailer positions 21–80 must be spaces');
    if (declared !== count) throw corrupt(`trailer detail count ${declared} does not match the ${count} detail records`);
    if (total !== amountSum) throw corrupt(`trailer amount total ${total} does not match the details' sum modulo 10^12 (${amountSum})`);
    trailer = { snapshotDate: snapshotDate ?? '', records: count, amountTotal: amountSum };
    phase = 'done';
  }

  /** One complete 82-byte window at `s`: framing, then the record by type. */
  function record(buf: Buffer, s: number, sink: TerminalSnapshotSink): void {
    line += 1;
    if (buf[s + 80] !== CR || buf[s + 81] !== LF) throw corrupt(framingFault(buf, s, s + STRIDE));
    for (let i = s; i < s + 80; i++) {
      const b = buf[i] as number;
      if (b < 0x20 || b > 0x7e) throw corrupt(`byte ${i - s + 1} is not printable ASCII (\\x${b.toString(16).padStart(2, '0')})`);
    }
    if (phase === 'done') throw corrupt('record after the trailer');
    if (phase === 'header') return header(buf, s);
    const type = buf[s];
    if (type === D) detail(buf, s, sink);
    else if (type === T) trailerRecord(buf, s);
    else if (type === H) throw corrupt('a second header');
    else throw corrupt(`unknown record type '${show(buf, s, 1)}' (expected D or T)`);
  }

  function pushTo(input: Uint8Array, sink: TerminalSnapshotSink): number {
    const chunk = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    const before = count;
    let at = 0;
    if (carried > 0) {
      const take = Math.min(STRIDE - carried, chunk.length);
      carry.set(chunk.subarray(0, take), carried);
      carried += take;
      at = take;
      if (carried < STRIDE) return 0;
      record(carry, 0, sink);
      carried = 0;
    }
    const last = chunk.length - STRIDE;
    for (; at <= last; at += STRIDE) record(chunk, at, sink);
    if (at < chunk.length) {
      carry.set(chunk.subarray(at), 0);
      carried = chunk.length - at;
    }
    return count - before;
  }

  return {
    get snapshotDate() {
      return snapshotDate;
    },
    push(input) {
      const out: TerminalSnapshotRecord[] = [];
      pushTo(input, {
        record(bytes, tidAt, midAt, status, lastSeenMs, transactionCount, amount, at) {
          const b = bytes as Buffer;
          out.push({
            terminalId: b.toString('latin1', tidAt, tidAt + 8),
            tmoMerchantId: b.toString('latin1', midAt, midAt + 15),
            status,
            lastSeenAt: Number.isNaN(lastSeenMs) ? null : new Date(lastSeenMs).toISOString(),
            transactionCount,
            amount: { amount, currency: 'EUR' },
            line: at,
          });
        },
      });
      return out;
    },
    pushTo,
    end() {
      if (carried > 0) {
        line += 1;
        if (phase === 'done') throw corrupt(`${carried} bytes after the last CRLF`);
        throw corrupt(framingFault(carry, 0, carried));
      }
      if (phase === 'header') throw corrupt('the file is empty: no header', null);
      if (trailer === null) throw corrupt(`missing trailer (the file ends after ${line} records)`, null);
      return trailer;
    },
  };
}

/**
 * The instant TMO wrote the TERMSTAT of `snapshotDate` (ISO `YYYY-MM-DD`) no earlier than: the end
 * of that date in the legacy time zone. BATCH.md §3: the file counts "transactions on the snapshot
 * date" and comes "every night around 02:00", so it is written once that day is over; its statuses
 * are TMO's word at some time after this instant.
 */
export function termstatTakenAfter(snapshotDate: string, timeZone: string): string {
  const [year, month, day] = snapshotDate.split('-').map(Number) as [number, number, number];
  const next = new Date(Date.UTC(year, month - 1, day + 1));
  const midnight = { year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate(), hour: 0, minute: 0, second: 0 };
  return new Date(wallClockToEpochMs(midnight, timeZone)).toISOString();
}

/** TERMSTAT names and folders (BATCH.md §3, "Folders on the TMO server"). */
export function termstatFormat(options: { timeZone: string }): TerminalSnapshotFormat {
  return {
    folders: { outbox: '/outbox', archive: '/outbox/archive', error: '/outbox/error' },
    match(name) {
      const m = NAME.exec(name);
      if (!m) return null;
      const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
      if (!isValidDate(year, month, day)) return null;
      return { snapshotDate: `${m[1]}-${m[2]}-${m[3]}`, role: m[4] === 'DAT' ? 'data' : 'marker' };
    },
    names(snapshotDate) {
      const compact = snapshotDate.replaceAll('-', '');
      return { data: `TERMSTAT_${compact}.DAT`, marker: `TERMSTAT_${compact}.OK` };
    },
    createParser({ expectedDate }) {
      return createTermstatParser({ timeZone: options.timeZone, ...(expectedDate === undefined ? {} : { expectedDate }) });
    },
  };
}
