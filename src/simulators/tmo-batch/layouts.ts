/**
 * TMO's side of the record layouts of BATCH.md (§1 TPU read, §2 ACK/NAK/DUP written, §3 TERMSTAT
 * written), written from the document alone, independently of the gateway's own writer and
 * parser, so that each checks the other.
 */
import type { TmoTerminalSettings } from '../tmo/state.ts';

export const CRLF = '\r\n';
/** TPU record length without its CRLF (BATCH.md §1). */
export const TPU_RECORD = 120;
/** ACK/NAK/DUP record length (§2). */
export const ANSWER_RECORD = 40;
/** TERMSTAT record length (§3). */
export const TERMSTAT_RECORD = 80;

/** NAK reasons (§2); `F004` only ever in a `.DUP`. */
export type RefusalReason = 'F001' | 'F002' | 'F003' | 'F004' | 'F005';
/** ACK detail results (§2). */
export type RecordResult = '0000' | 'R101' | 'R202' | 'R303';

const num = (value: number, width: number): string => String(value).padStart(width, '0');
const alpha = (value: string, width: number): string => value.padEnd(width, ' ').slice(0, width);

/** Sum modulo 10^12 of numeric strings (MIDs, amounts), exact for any count (no float overflow). */
export function sumMod12(acc: number, digits: string): number {
  return (acc + Number(digits.slice(-12))) % 1_000_000_000_000;
}

// ---- §1 TPU (read) ----------------------------------------------------------------------------

/** `TPU_<YYYYMMDD>_<SEQ>.DAT`, SEQ from 001. */
export const TPU_NAME = /^TPU_(\d{8})_(\d{3})\.DAT$/;

/** True for a real calendar date `YYYYMMDD`. */
export function isCalendarDate(yyyymmdd: string): boolean {
  if (!/^\d{8}$/.test(yyyymmdd)) return false;
  const y = Number(yyyymmdd.slice(0, 4));
  const m = Number(yyyymmdd.slice(4, 6));
  const d = Number(yyyymmdd.slice(6, 8));
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/** One TPU detail as TMO read it. `settings` is null when a field is invalid (R101). */
export interface TpuDetail {
  recordNo: number;
  /** positions 8–15 as sent (echoed in the ACK even when invalid) */
  tid: string;
  mid: string;
  settings: TmoTerminalSettings | null;
}

export type TpuCheck =
  | { ok: false; reason: Exclude<RefusalReason, 'F004'> }
  | { ok: true; date: string; seq: string; details: TpuDetail[] };

const LANGUAGES: ReadonlySet<string> = new Set(['IT', 'EN', 'DE', 'FR']);
const SPACES = (n: number) => ' '.repeat(n);

/** A receipt line field: printable ASCII without lowercase, left-aligned (blank = clear). */
function receiptLine(field: string): string | null {
  if (/[a-z]/.test(field)) return null;
  const trimmed = field.trimEnd();
  if (trimmed !== '' && trimmed.startsWith(' ')) return null;
  return trimmed;
}

function detailSettings(rec: string): TmoTerminalSettings | null {
  const tid = rec.slice(7, 15);
  const limit = rec.slice(30, 36);
  const tipping = rec.slice(36, 37);
  const contactless = rec.slice(37, 38);
  const line1 = receiptLine(rec.slice(38, 78));
  const line2 = receiptLine(rec.slice(78, 118));
  const language = rec.slice(118, 120);
  if (!/^[A-Z0-9]{8}$/.test(tid)) return null;
  if (!/^\d{6}$/.test(limit)) return null;
  if ((tipping !== 'Y' && tipping !== 'N') || (contactless !== 'Y' && contactless !== 'N')) return null;
  if (line1 === null || line2 === null || !LANGUAGES.has(language)) return null;
  return {
    CTLS_LIMIT: limit,
    TIPPING: tipping,
    CONTACTLESS: contactless,
    RECEIPT_LINE_1: line1,
    RECEIPT_LINE_2: line2,
    LANGUAGE: language as TmoTerminalSettings['LANGUAGE'],
  };
}

/**
 * Reads a TPU file as TMO does (BATCH.md §1). Checks, in this order, each refusing the whole file:
 * the name (`F001`); the layout — record length, CRLF, bytes outside printable ASCII, record
 * types and order, record numbers, a non-digit in a MID or in the trailer (`F005`); the header —
 * date and sequence equal to the name's, sender `GATEWAY`, blank filler, digits (`F001`); the
 * detail count (`F002`); the MID hash total (`F003`). Per-record field checks are left to the
 * caller through `settings: null` (`R101`).
 */
export function checkTpu(name: string, bytes: Uint8Array): TpuCheck {
  const m = TPU_NAME.exec(name);
  if (!m || m[2] === '000' || !isCalendarDate(m[1] ?? '')) return { ok: false, reason: 'F001' };
  const [, nameDate = '', nameSeq = ''] = m;

  const line = TPU_RECORD + 2;
  if (bytes.length === 0 || bytes.length % line !== 0) return { ok: false, reason: 'F005' };
  const count = bytes.length / line;
  if (count < 2) return { ok: false, reason: 'F005' };
  for (let r = 0; r < count; r++) {
    const start = r * line;
    for (let i = start; i < start + TPU_RECORD; i++) {
      const b = bytes[i] ?? 0;
      if (b < 0x20 || b > 0x7e) return { ok: false, reason: 'F005' };
    }
    if (bytes[start + TPU_RECORD] !== 0x0d || bytes[start + TPU_RECORD + 1] !== 0x0a) return { ok: false, reason: 'F005' };
  }
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
  const rec = (r: number) => text.slice(r * line, r * line + TPU_RECORD);

  const header = rec(0);
  const trailer = rec(count - 1);
  if (header[0] !== 'H' || trailer[0] !== 'T') return { ok: false, reason: 'F005' };
  const details: TpuDetail[] = [];
  let hash = 0;
  for (let r = 1; r < count - 1; r++) {
    const d = rec(r);
    if (d[0] !== 'D') return { ok: false, reason: 'F005' };
    if (d.slice(1, 7) !== num(r, 6)) return { ok: false, reason: 'F005' };
    const mid = d.slice(15, 30);
    if (!/^\d{15}$/.test(mid)) return { ok: false, reason: 'F005' };
    hash = sumMod12(hash, mid);
    details.push({ recordNo: r, tid: d.slice(7, 15), mid, settings: detailSettings(d) });
  }
  const trailerCount = trailer.slice(1, 7);
  const trailerHash = trailer.slice(7, 19);
  if (!/^\d{6}$/.test(trailerCount) || !/^\d{12}$/.test(trailerHash) || trailer.slice(19) !== SPACES(101)) {
    return { ok: false, reason: 'F005' };
  }

  if (
    header.slice(1, 9) !== nameDate ||
    header.slice(9, 12) !== nameSeq ||
    header.slice(12, 27) !== alpha('GATEWAY', 15) ||
    header.slice(27) !== SPACES(93)
  ) {
    return { ok: false, reason: 'F001' };
  }
  if (Number(trailerCount) !== details.length) return { ok: false, reason: 'F002' };
  if (Number(trailerHash) !== hash) return { ok: false, reason: 'F003' };
  return { ok: true, date: nameDate, seq: nameSeq, details };
}

// ---- §2 answers (written) ---------------------------------------------------------------------

export interface AckLine {
  recordNo: number;
  tid: string;
  result: RecordResult;
}

/** `<name>.ACK`: header (file name, processing date), one detail per TPU detail, trailer. */
export function ackContent(tpuName: string, processingDate: string, lines: readonly AckLine[]): string {
  let out = `H${alpha(tpuName, 20)}${processingDate}${SPACES(11)}${CRLF}`;
  let applied = 0;
  for (const l of lines) {
    if (l.result === '0000') applied += 1;
    out += `D${num(l.recordNo, 6)}${alpha(l.tid, 8)}${l.result}${SPACES(21)}${CRLF}`;
  }
  out += `T${num(applied, 6)}${num(lines.length - applied, 6)}${SPACES(27)}${CRLF}`;
  return out;
}

/** `<name>.NAK` / `<name>.DUP`: one record, the reason then spaces. */
export function refusalContent(reason: RefusalReason): string {
  return `${reason}${SPACES(36)}${CRLF}`;
}

// ---- §3 TERMSTAT (written) --------------------------------------------------------------------

export type TermstatStatus = 'PE' | 'AC' | 'SU' | 'DC';

export interface TermstatDetail {
  tid: string;
  mid: string;
  status: TermstatStatus;
  /** `YYYYMMDD`, '' = never seen */
  lastSeenDate: string;
  /** `HHMMSS`, '' = never seen */
  lastSeenTime: string;
  transactions: number;
  /** euro cents on the snapshot date */
  amountCents: number;
}

export function termstatHeader(date: string): string {
  return `H${date}TERMSTAT${SPACES(63)}${CRLF}`;
}

export function termstatDetail(d: TermstatDetail): string {
  const seenDate = d.lastSeenDate === '' ? '00000000' : d.lastSeenDate;
  const seenTime = d.lastSeenDate === '' ? '000000' : d.lastSeenTime;
  return `D${alpha(d.tid, 8)}${d.mid}${d.status}${seenDate}${seenTime}${num(d.transactions, 7)}${num(d.amountCents, 12)}${SPACES(21)}${CRLF}`;
}

/** Trailer: detail count (7 digits) and the amount total modulo 10^12. */
export function termstatTrailer(count: number, amountTotalMod12: number): string {
  return `T${num(count, 7)}${num(amountTotalMod12, 12)}${SPACES(60)}${CRLF}`;
}
