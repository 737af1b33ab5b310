// NODE-SOAP-NOTES.md § Results: parsed records are plain objects of strings; an empty
// element is `''`. Readers here turn anything else into a contract violation (naming the
// field, never the value).
import { contractViolation, type LegacySystem } from './violation.ts';

/** A parsed legacy record: element name → text (or nested record / list). */
export type LegacyRecord = Readonly<Record<string, unknown>>;

/** The record itself, or a contract violation when `value` is not an object. */
export function asRecord(value: unknown, system: LegacySystem, field: string): LegacyRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw contractViolation(system, field, 'a missing or malformed record');
  }
  return value as LegacyRecord;
}

/** The text of `rec[key]`; a missing or non-text element is a contract violation. */
export function text(rec: LegacyRecord, key: string, system: LegacySystem): string {
  const v = rec[key];
  if (typeof v !== 'string') throw contractViolation(system, key, 'a missing or malformed element');
  return v;
}

/** Like `text`, `''` becomes null. */
export function optionalText(rec: LegacyRecord, key: string, system: LegacySystem): string | null {
  const v = text(rec, key, system);
  return v === '' ? null : v;
}

/** A non-negative integer sent as text (TMO `TOTAL_RECORDS`, CRM `TotalCount`). */
export function count(rec: LegacyRecord, key: string, system: LegacySystem): number {
  const v = rec[key];
  const s = typeof v === 'number' ? String(v) : v;
  if (typeof s !== 'string' || !/^\d{1,15}$/.test(s)) throw contractViolation(system, key, 'an invalid count');
  return Number(s);
}

/** Looks `code` up in a legacy → domain table; unknown codes are a contract violation. */
export function fromCode<T>(table: Readonly<Record<string, T>>, code: string, system: LegacySystem, field: string): T {
  if (!Object.hasOwn(table, code)) throw contractViolation(system, field, 'an unknown code');
  return table[code] as T;
}

/** Inverts a small legacy → domain table (domain → legacy). */
export function invert<K extends string, V extends string>(table: Readonly<Record<K, V>>): Readonly<Record<V, K>> {
  const out = {} as Record<V, K>;
  for (const [k, v] of Object.entries(table) as [K, V][]) out[v] = k;
  return out;
}
