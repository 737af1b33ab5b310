/**
 * Opaque list cursors: base64url JSON `{ v, page, pageSize, filter }`, the same format as
 * `src/translators/common/cursor.ts` was announced with (that module did not exist when the
 * API was written; swap the codec below for it once it lands).
 *
 * A cursor is bound to its list (`filter.list`), its filter and its page size: used with
 * anything else it is refused with 422 `request.cursor_mismatch`. Cursors are not signed:
 * editing the page number only lets a caller reach a page they could reach anyway.
 */
import { ProblemError, problem } from './problem.ts';

export type CursorFilter = Record<string, string | null>;

export interface CursorPayload {
  v: 1;
  /** 1-based page the cursor points at */
  page: number;
  pageSize: number;
  filter: CursorFilter;
}

const MAX_CURSOR_LENGTH = 1024;

export function encodeCursor(payload: Omit<CursorPayload, 'v'>): string {
  const body: CursorPayload = { v: 1, page: payload.page, pageSize: payload.pageSize, filter: payload.filter };
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

/** The payload, or null when the text is not a cursor this API issued. */
export function decodeCursor(text: string): CursorPayload | null {
  if (text.length === 0 || text.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(text)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const p = parsed as Record<string, unknown>;
  if (p.v !== 1) return null;
  if (typeof p.page !== 'number' || !Number.isSafeInteger(p.page) || p.page < 1) return null;
  if (typeof p.pageSize !== 'number' || !Number.isSafeInteger(p.pageSize) || p.pageSize < 1) return null;
  if (typeof p.filter !== 'object' || p.filter === null || Array.isArray(p.filter)) return null;
  const filter: CursorFilter = {};
  for (const [k, v] of Object.entries(p.filter as Record<string, unknown>)) {
    if (v !== null && typeof v !== 'string') return null;
    filter[k] = v;
  }
  return { v: 1, page: p.page, pageSize: p.pageSize, filter };
}

function sameFilter(a: CursorFilter, b: CursorFilter): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

export interface PageQuery {
  cursor?: string | undefined;
  limit?: number | undefined;
}

/**
 * The `{ page, pageSize }` a list request asks for. Without a cursor: page 1 of `limit`
 * (or `defaultLimit`). With one: the cursor's page; `limit`, if given, must equal the
 * cursor's page size, and the filter (including the list name) must match.
 */
export function pageFromQuery(
  query: PageQuery,
  filter: CursorFilter,
  defaults: { defaultLimit: number; maxLimit: number },
): { page: number; pageSize: number } {
  if (query.cursor === undefined) return { page: 1, pageSize: query.limit ?? defaults.defaultLimit };
  const cursor = decodeCursor(query.cursor);
  if (!cursor || cursor.pageSize > defaults.maxLimit) {
    throw new ProblemError(problem('request.cursor_invalid', { errors: [{ field: 'cursor', reason: 'is not a cursor issued by this API' }] }));
  }
  if (!sameFilter(cursor.filter, filter)) {
    throw new ProblemError(problem('request.cursor_mismatch', {
      detail: 'The cursor was issued for a different list or filter; repeat the original query parameters or drop the cursor.',
      errors: [{ field: 'cursor', reason: 'does not match the list or filter it was issued for' }],
    }));
  }
  if (query.limit !== undefined && query.limit !== cursor.pageSize) {
    throw new ProblemError(problem('request.cursor_mismatch', {
      detail: 'The cursor was issued for a different page size; omit `limit` or repeat the original one.',
      errors: [{ field: 'limit', reason: `must be omitted or equal ${cursor.pageSize} with this cursor` }],
    }));
  }
  return { page: cursor.page, pageSize: cursor.pageSize };
}

/** The cursor of the next page, or null on the last one. */
export function nextCursor(nextPage: number | null, pageSize: number, filter: CursorFilter): string | null {
  return nextPage === null ? null : encodeCursor({ page: nextPage, pageSize, filter });
}
