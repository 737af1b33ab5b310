// ARCHITECTURE.md § Identifiers in the API / STYLE.md: the API pages with opaque cursors;
// the legacy systems (CONTRACT.md § TMO ListTerminals, § CRM SearchCustomers) page with
// 1-based page numbers. A cursor is base64url JSON with a version so the format can change.
import { ValidationError } from '../domain/errors/index.ts';

/** Filter values a cursor can carry: the query the page belongs to. */
export type CursorFilter = Readonly<Record<string, string | number | boolean | null>>;

export interface CursorPayload {
  /** 1-based page */
  page: number;
  pageSize: number;
  filter: CursorFilter;
}

/** Current cursor format version. */
export const CURSOR_VERSION = 1;
const MAX_CURSOR_LENGTH = 2048;

interface WireCursor {
  v: number;
  p: number;
  s: number;
  f: CursorFilter;
}

/** Encodes a page position as an opaque base64url cursor. */
export function encodeCursor(payload: CursorPayload): string {
  const wire: WireCursor = { v: CURSOR_VERSION, p: payload.page, s: payload.pageSize, f: payload.filter };
  return Buffer.from(JSON.stringify(wire), 'utf8').toString('base64url');
}

function invalid(reason: string): ValidationError {
  return new ValidationError('cursor.invalid', 'The cursor is not valid for this request', {
    fields: [{ field: 'cursor', reason }],
  });
}

function isFilter(value: unknown): value is CursorFilter {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.values(value).every(
    (v) => v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)),
  );
}

function sameFilter(a: CursorFilter, b: CursorFilter): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if ((a[k] ?? null) !== (b[k] ?? null)) return false;
  return true;
}

/**
 * Decodes a cursor made by `encodeCursor`. Anything malformed, of another version, with a
 * page size above `maxPageSize`, or (when `filter` is given) made for a different query →
 * ValidationError `cursor.invalid` with field `cursor`.
 */
export function decodeCursor(cursor: string, expect: { maxPageSize?: number; filter?: CursorFilter } = {}): CursorPayload {
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw invalid('malformed');
  }
  let wire: unknown;
  try {
    wire = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid('malformed');
  }
  if (typeof wire !== 'object' || wire === null) throw invalid('malformed');
  const w = wire as Partial<Record<keyof WireCursor, unknown>>;
  if (w.v !== CURSOR_VERSION) throw invalid('unsupported version');
  if (typeof w.p !== 'number' || !Number.isSafeInteger(w.p) || w.p < 1) throw invalid('malformed');
  if (typeof w.s !== 'number' || !Number.isSafeInteger(w.s) || w.s < 1) throw invalid('malformed');
  if (expect.maxPageSize !== undefined && w.s > expect.maxPageSize) throw invalid('page size too large');
  if (!isFilter(w.f)) throw invalid('malformed');
  if (expect.filter !== undefined && !sameFilter(w.f, expect.filter)) throw invalid('made for a different query');
  return { page: w.p, pageSize: w.s, filter: w.f };
}
