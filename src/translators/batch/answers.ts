// BATCH.md §2 (ACK / NAK / DUP — TMO's answer to a TPU file, TMO → gateway) and the file rules at
// the top of BATCH.md (fixed width, CRLF after every record, nothing after the last CRLF).
// Strict: anything off the layout is a TranslationError naming the line and what is wrong,
// never a guess. Codes are translated here and go no further.
import { TranslationError } from '../../domain/errors/index.ts';
import type {
  SettingsAckResults,
  SettingsAnswer,
  SettingsAnswerKind,
  SettingsFileRefusal,
  SettingsRecordResult,
  SettingsRejection,
} from '../../domain/terminal-settings.ts';
import { TERMINAL_ID_PATTERN } from '../common/ids.ts';
import { parseTpuFileName } from './tpu.ts';

export const ANSWER_RECORD_LENGTH = 40;

/** ACK result codes → what the API says. `0000` is applied. */
export const ACK_RESULTS: Readonly<Record<string, SettingsRejection | 'applied'>> = {
  '0000': 'applied',
  R101: 'terminal.invalid_settings',
  R202: 'terminal.not_found',
  R303: 'terminal.decommissioned',
};

/** NAK reasons → what the API says. */
export const NAK_REASONS: Readonly<Record<string, SettingsFileRefusal>> = {
  F001: 'batch.bad_header',
  F002: 'batch.count_mismatch',
  F003: 'batch.hash_mismatch',
  F005: 'batch.bad_layout',
};

const DUP_REASON = 'F004';

const EXTENSION: Record<string, SettingsAnswerKind> = { ACK: 'ack', NAK: 'nak', DUP: 'dup' };
const ANSWER_NAME = /^(TPU_\d{8}_\d{3})\.(ACK|NAK|DUP)$/;

/** The TPU file an answer name belongs to and the answer's kind, or null for any other name. */
export function parseAnswerName(name: string): { fileName: string; kind: SettingsAnswerKind } | null {
  const m = ANSWER_NAME.exec(name);
  if (!m || !m[1] || !m[2]) return null;
  const fileName = `${m[1]}.DAT`;
  const kind = EXTENSION[m[2]];
  if (!kind || parseTpuFileName(fileName) === null) return null;
  return { fileName, kind };
}

/** The three answer names TMO may write for a TPU file. */
export function answerNames(fileName: string): { name: string; kind: SettingsAnswerKind }[] {
  const base = fileName.replace(/\.DAT$/, '');
  return [
    { name: `${base}.ACK`, kind: 'ack' },
    { name: `${base}.NAK`, kind: 'nak' },
    { name: `${base}.DUP`, kind: 'dup' },
  ];
}

function broken(name: string, line: number | null, what: string): TranslationError {
  const where = line === null ? '' : ` line ${line}`;
  return new TranslationError('batch.answer_invalid', `TMO answer ${name}${where}: ${what}`, { system: 'tmo' });
}

const LINE = ANSWER_RECORD_LENGTH + 2; // with its CRLF

/**
 * Checks the records in place: every one exactly `ANSWER_RECORD_LENGTH` printable ASCII bytes
 * (no lowercase) plus CRLF. Returns how many there are; record `i` (0-based) then starts at
 * `i * LINE`. Reads the buffer without splitting it (an ACK of 999,999 records is 42 MB).
 */
function checkRecords(name: string, content: Buffer): number {
  if (content.length === 0) throw broken(name, null, 'the file is empty');
  if (content[content.length - 2] !== 0x0d || content[content.length - 1] !== 0x0a) throw broken(name, null, 'the last record does not end with CRLF');
  let line = 0;
  for (let start = 0, end = 0; start < content.length; start = end + 2) {
    line += 1;
    end = content.indexOf('\r\n', start, 'latin1');
    if (end - start !== ANSWER_RECORD_LENGTH) {
      const text = content.toString('latin1', start, end);
      throw broken(name, line, `record length ${end - start}, expected ${ANSWER_RECORD_LENGTH}${/[\r\n]/.test(text) ? ' (a bare CR or LF)' : ''}`);
    }
    let lower = false;
    for (let i = start; i < end; i += 1) {
      const b = content[i] ?? 0;
      if (b < 0x20 || b > 0x7e) throw broken(name, line, 'a byte outside printable ASCII');
      if (b >= 0x61 && b <= 0x7a) lower = true;
    }
    if (lower) throw broken(name, line, 'a lowercase letter');
  }
  return line;
}

/** Record `i` (0-based) of a checked answer. */
const recordAt = (content: Buffer, i: number): string => content.toString('latin1', i * LINE, i * LINE + ANSWER_RECORD_LENGTH);

function spaces(name: string, line: number, value: string, from: number): void {
  if (value.trim() !== '') throw broken(name, line, `positions ${from}–${from + value.length - 1} must be spaces`);
}

function digits(name: string, line: number, value: string, field: string): number {
  if (!/^\d+$/.test(value)) throw broken(name, line, `${field} is not all digits`);
  return Number(value);
}

function isoFromCompact(name: string, line: number, v: string): string {
  if (!/^\d{8}$/.test(v)) throw broken(name, line, 'processing date is not YYYYMMDD');
  const [y, m, d] = [Number(v.slice(0, 4)), Number(v.slice(4, 6)), Number(v.slice(6, 8))];
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) {
    throw broken(name, line, 'processing date is not a calendar date');
  }
  return `${v.slice(0, 4)}-${v.slice(4, 6)}-${v.slice(6, 8)}`;
}

function parseAck(name: string, fileName: string, content: Buffer, lines: number): SettingsAnswer {
  if (lines < 2) throw broken(name, null, 'a header and a trailer are required');
  const header = recordAt(content, 0);
  const trailer = recordAt(content, lines - 1);
  if (header[0] !== 'H') throw broken(name, 1, 'the first record is not a header (H)');
  const named = header.slice(1, 21);
  if (named !== fileName) throw broken(name, 1, `the header names ${named.trimEnd()}, not ${fileName}`);
  const processedOn = isoFromCompact(name, 1, header.slice(21, 29));
  spaces(name, 1, header.slice(29), 30);

  // Every record of the TPU file has one result: record nos are exactly 1..count, in any order.
  // `lineOf[recordNo]` is the (0-based) record holding that result: 4 bytes per result.
  const count = lines - 2;
  const lineOf = new Int32Array(count + 1);
  let applied = 0;
  let rejected = 0;
  for (let i = 1; i <= count; i += 1) {
    const line = recordAt(content, i);
    const n = i + 1;
    if (line[0] !== 'D') throw broken(name, n, line[0] === 'T' || line[0] === 'H' ? `a ${line[0]} record out of order` : 'not a detail record (D)');
    const recordNo = digits(name, n, line.slice(1, 7), 'record no');
    if (recordNo < 1) throw broken(name, n, 'record no 000000');
    if (recordNo > count) throw broken(name, n, `record no ${recordNo}, but the answer has ${count} results (one per record of the file)`);
    if (lineOf[recordNo] !== 0) throw broken(name, n, `record no ${recordNo} answered twice`);
    lineOf[recordNo] = i;
    if (!TERMINAL_ID_PATTERN.test(line.slice(7, 15))) throw broken(name, n, 'TID is not 8 characters A-Z 0-9');
    const code = line.slice(15, 19);
    const result = ACK_RESULTS[code];
    if (result === undefined) throw broken(name, n, `unknown result code ${code}`);
    spaces(name, n, line.slice(19), 20);
    if (result === 'applied') applied += 1;
    else rejected += 1;
  }
  const t = lines;
  if (trailer[0] !== 'T') throw broken(name, t, 'the last record is not a trailer (T)');
  const tApplied = digits(name, t, trailer.slice(1, 7), 'applied count');
  const tRejected = digits(name, t, trailer.slice(7, 13), 'rejected count');
  spaces(name, t, trailer.slice(13), 14);
  if (tApplied !== applied) throw broken(name, t, `applied count ${tApplied}, but ${applied} details are applied`);
  if (tRejected !== rejected) throw broken(name, t, `rejected count ${tRejected}, but ${rejected} details are rejected`);

  const get = (recordNo: number): SettingsRecordResult => {
    const i = recordNo >= 1 && recordNo <= count ? (lineOf[recordNo] ?? 0) : 0;
    if (i === 0) throw new RangeError(`record no ${recordNo} is not in 1..${count}`);
    const line = recordAt(content, i);
    const terminalId = line.slice(7, 15);
    const result = ACK_RESULTS[line.slice(15, 19)];
    if (result === undefined) throw broken(name, i + 1, 'unknown result code'); // checked above: never
    return result === 'applied' ? { recordNo, terminalId, outcome: 'applied' } : { recordNo, terminalId, outcome: 'rejected', reason: result };
  };
  const results: SettingsAckResults = {
    count,
    get,
    *[Symbol.iterator]() {
      for (let r = 1; r <= count; r += 1) yield get(r);
    },
  };
  return { kind: 'ack', fileName, processedOn, results, applied, rejected };
}

function parseOneRecord(name: string, content: Buffer, lines: number): string {
  if (lines !== 1) throw broken(name, null, `${lines} records, expected exactly one`);
  const line = recordAt(content, 0);
  spaces(name, 1, line.slice(4), 5);
  return line.slice(0, 4);
}

/** Parses an ACK, NAK or DUP answer (kind from its name) strictly. */
export function parseTpuAnswer(name: string, content: Buffer): SettingsAnswer {
  const parsed = parseAnswerName(name);
  if (!parsed) throw broken(name, null, 'not an answer name TPU_<YYYYMMDD>_<SEQ>.ACK|NAK|DUP');
  const lines = checkRecords(name, content);
  switch (parsed.kind) {
    case 'ack':
      return parseAck(name, parsed.fileName, content, lines);
    case 'nak': {
      const code = parseOneRecord(name, content, lines);
      const reason = NAK_REASONS[code];
      if (reason === undefined) throw broken(name, 1, `unknown NAK reason ${code}`);
      return { kind: 'nak', fileName: parsed.fileName, reason };
    }
    case 'dup': {
      const code = parseOneRecord(name, content, lines);
      if (code !== DUP_REASON) throw broken(name, 1, `a DUP must carry ${DUP_REASON}, not ${code}`);
      return { kind: 'dup', fileName: parsed.fileName, reason: 'batch.duplicate_name' };
    }
  }
}
