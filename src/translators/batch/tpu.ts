// BATCH.md §1 (TPU — terminal parameter update, gateway → TMO) and the file rules at the top of
// BATCH.md: fixed-width records of 120 bytes, CRLF after every record (the last included),
// numeric fields right-aligned zero-padded, alphanumeric fields left-aligned space-padded,
// printable ASCII without lowercase.
import { ValidationError } from '../../domain/errors/index.ts';
import type { SettingsChangeRecord, SettingsFileId, SettingsLanguage } from '../../domain/terminal-settings.ts';
import { TERMINAL_ID_PATTERN, TMO_MERCHANT_ID_PATTERN } from '../common/ids.ts';
import { toTmoAmount } from '../common/money.ts';
import { toTmoText } from '../common/text.ts';

export const TPU_RECORD_LENGTH = 120;
const CRLF = '\r\n';
const SENDER = 'GATEWAY';
const HASH_MODULO = 1_000_000_000_000; // 10^12
const RECEIPT_LINE_LENGTH = 40;
const MAX_DETAILS = 999_999; // record no and detail count are 6 digits
const MAX_SEQ = 999;

const LANGUAGE: Record<SettingsLanguage, string> = { it: 'IT', en: 'EN', de: 'DE', fr: 'FR' };

const TPU_NAME = /^TPU_(\d{8})_(\d{3})\.DAT$/;

function invalid(field: string, reason: string): ValidationError {
  return new ValidationError('batch.invalid_record', `${field} ${reason}`, { fields: [{ field, reason }] });
}

/** `YYYY-MM-DD` → `YYYYMMDD`, checked. */
function compactDate(date: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) throw invalid('date', 'must be a date YYYY-MM-DD');
  return `${m[1]}${m[2]}${m[3]}`;
}

function seqDigits(seq: number): string {
  if (!Number.isInteger(seq) || seq < 1 || seq > MAX_SEQ) throw invalid('seq', `must be 1–${MAX_SEQ}`);
  return String(seq).padStart(3, '0');
}

/** `TPU_<YYYYMMDD>_<SEQ>.DAT` for a day (`YYYY-MM-DD`) and its sequence number (1–999). */
export function tpuFileName(id: SettingsFileId): string {
  return `TPU_${compactDate(id.date)}_${seqDigits(id.seq)}.DAT`;
}

/** The day (`YYYY-MM-DD`) and sequence of a TPU file name, or null for any other name. */
export function parseTpuFileName(name: string): SettingsFileId | null {
  const m = TPU_NAME.exec(name);
  if (!m || !m[1] || !m[2]) return null;
  const seq = Number(m[2]);
  if (seq < 1) return null;
  return { date: `${m[1].slice(0, 4)}-${m[1].slice(4, 6)}-${m[1].slice(6, 8)}`, seq };
}

const num = (value: number, width: number) => String(value).padStart(width, '0');
const alpha = (value: string, width: number) => value.padEnd(width, ' ');

/** The header record (without CRLF). */
export function tpuHeader(id: SettingsFileId): string {
  return `H${compactDate(id.date)}${seqDigits(id.seq)}${alpha(SENDER, 15)}${' '.repeat(93)}`;
}

/** One detail record (without CRLF); throws a ValidationError naming the bad field. */
export function tpuDetail(recordNo: number, r: SettingsChangeRecord): string {
  if (!Number.isInteger(recordNo) || recordNo < 1 || recordNo > MAX_DETAILS) throw invalid('recordNo', `must be 1–${MAX_DETAILS}`);
  if (!TERMINAL_ID_PATTERN.test(r.terminalId)) throw invalid('terminalId', 'must be 8 characters A-Z 0-9');
  if (!TMO_MERCHANT_ID_PATTERN.test(r.tmoMerchantId)) throw invalid('tmoMerchantId', 'must be 15 digits');
  const s = r.settings;
  const limit = toTmoAmount(s.contactlessLimit, 6, 'contactlessLimit.amount');
  const language = LANGUAGE[s.language];
  if (language === undefined) throw invalid('language', 'must be one of it, en, de, fr');
  const line1 = alpha(toTmoText(s.receiptLines[0], RECEIPT_LINE_LENGTH), RECEIPT_LINE_LENGTH);
  const line2 = alpha(toTmoText(s.receiptLines[1], RECEIPT_LINE_LENGTH), RECEIPT_LINE_LENGTH);
  return `D${num(recordNo, 6)}${r.terminalId}${r.tmoMerchantId}${limit}${s.tipping ? 'Y' : 'N'}${s.contactless ? 'Y' : 'N'}${line1}${line2}${language}`;
}

/** The trailer record (without CRLF). */
export function tpuTrailer(count: number, hashTotal: number): string {
  return `T${num(count, 6)}${num(hashTotal % HASH_MODULO, 12)}${' '.repeat(101)}`;
}

/** Adds a MID to a running hash total, modulo 10^12 (every term stays far below 2^53). */
export function addToHash(total: number, tmoMerchantId: string): number {
  return (total + (Number(tmoMerchantId.slice(-12)) % HASH_MODULO)) % HASH_MODULO;
}

export interface TpuWriteOptions {
  /** bytes per yielded chunk (default 64 KiB); records are never split across writes of the caller's choice */
  chunkBytes?: number;
}

/**
 * Streams a TPU file: header, one detail per record numbered from 1, trailer; CRLF after each.
 * Memory stays at one chunk whatever the number of records. A TID twice is refused (TMO would
 * reject every occurrence with R101): the caller must collapse changes per terminal first.
 */
export async function* writeTpu(
  id: SettingsFileId,
  records: AsyncIterable<SettingsChangeRecord> | Iterable<SettingsChangeRecord>,
  opts: TpuWriteOptions = {},
): AsyncGenerator<Buffer> {
  const chunkBytes = opts.chunkBytes ?? 64 * 1024;
  const seen = new Set<string>();
  let pending = tpuHeader(id) + CRLF;
  let count = 0;
  let hash = 0;
  for await (const r of records) {
    count += 1;
    if (seen.has(r.terminalId)) throw invalid('terminalId', `appears twice in one file (${r.terminalId})`);
    seen.add(r.terminalId);
    pending += tpuDetail(count, r) + CRLF;
    hash = addToHash(hash, r.tmoMerchantId);
    if (pending.length >= chunkBytes) {
      yield Buffer.from(pending, 'latin1');
      pending = '';
    }
  }
  pending += tpuTrailer(count, hash) + CRLF;
  yield Buffer.from(pending, 'latin1');
}
