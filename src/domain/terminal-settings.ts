/**
 * Terminal settings TMO only takes by file (the nightly TPU exchange), in domain terms, and the
 * port the batch jobs use to write that file and read TMO's answers without knowing its layout.
 */
import type { Money } from './model.ts';

export const SETTINGS_LANGUAGES = ['it', 'en', 'de', 'fr'] as const;
export type SettingsLanguage = (typeof SETTINGS_LANGUAGES)[number];

/** The full set of file-managed settings: each change replaces all of them. */
export interface TerminalSettings {
  tipping: boolean;
  contactless: boolean;
  /** integer euro cents 0–999999 */
  contactlessLimit: Money;
  /** two receipt lines; `''` clears a line */
  receiptLines: [string, string];
  language: SettingsLanguage;
}

/** One change as it goes into a file. */
export interface SettingsChangeRecord {
  terminalId: string;
  /** the terminal's merchant in the terminal system (`tmoMerchantId`, 15 digits) */
  tmoMerchantId: string;
  settings: TerminalSettings;
}

/** The header of one settings file: its day (`YYYY-MM-DD`) and sequence number of that day. */
export interface SettingsFileId {
  date: string;
  seq: number;
}

/** What TMO said about one record of a file, in domain terms. */
export type SettingsRecordResult =
  | { recordNo: number; terminalId: string; outcome: 'applied' }
  | { recordNo: number; terminalId: string; outcome: 'rejected'; reason: SettingsRejection };

/** Why TMO refused one record (never the legacy code). */
export type SettingsRejection = 'terminal.invalid_settings' | 'terminal.not_found' | 'terminal.decommissioned';

/** Why TMO refused a whole file (never the legacy code). */
export type SettingsFileRefusal = 'batch.bad_header' | 'batch.count_mismatch' | 'batch.hash_mismatch' | 'batch.bad_layout';

/**
 * The results of an ACK without one object per record (an answer may hold 999,999): `count`
 * results whose record numbers are exactly 1..count, each read when asked for.
 */
export interface SettingsAckResults {
  readonly count: number;
  /** The result of record `recordNo` (1..count). */
  get(recordNo: number): SettingsRecordResult;
  /** Every result in record order (one object each: for small answers and tests). */
  [Symbol.iterator](): Iterator<SettingsRecordResult>;
}

export type SettingsAnswer =
  | { kind: 'ack'; fileName: string; processedOn: string; results: SettingsAckResults; applied: number; rejected: number }
  | { kind: 'nak'; fileName: string; reason: SettingsFileRefusal }
  | { kind: 'dup'; fileName: string; reason: 'batch.duplicate_name' };

export type SettingsAnswerKind = SettingsAnswer['kind'];

/**
 * The settings file format (BATCH.md §1/§2 behind it). Implemented in adapters over the pure
 * translators, so the jobs never see a legacy field or code.
 */
export interface SettingsFileFormat {
  /** The file's name for this day and sequence, e.g. `TPU_20261127_001.DAT`. */
  fileName(id: SettingsFileId): string;
  /** The answer names TMO may write for `fileName`, with their kind. */
  answerNames(fileName: string): { name: string; kind: SettingsAnswerKind }[];
  /** Recognises an answer file name: the settings file it answers and its kind, or null. */
  parseAnswerName(name: string): { fileName: string; kind: SettingsAnswerKind } | null;
  /** Streams the whole file: header, one record per change (numbered from 1), trailer. */
  write(id: SettingsFileId, records: AsyncIterable<SettingsChangeRecord> | Iterable<SettingsChangeRecord>): AsyncIterable<Buffer>;
  /** Parses an answer strictly; a TranslationError names what breaks the layout. */
  parseAnswer(name: string, content: Buffer): SettingsAnswer;
}
