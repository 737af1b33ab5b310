/**
 * Opaque list cursors for the API. The codec is `cursor-codec.ts`
 * (base64url JSON with a version); this module adds the API rules on top:
 * a cursor is bound to its list (`filter.list`), its filter and its page size, and used with
 * anything else it is refused with 422 `request.cursor_mismatch`; a cursor that does not
 * decode is 422 `request.cursor_invalid`. Cursors are not signed: editing the page number
 * only lets a caller reach a page they could reach anyway.
 */
import { decodeCursor, encodeCursor, type CursorFilter } from './cursor-codec.ts';
import { ProblemError, problem } from './problem.ts';

export type { CursorFilter };

function sameFilter(a: CursorFilter, b: CursorFilter): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if ((a[k] ?? null) !== (b[k] ?? null)) return false;
  return true;
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
  let cursor: { page: number; pageSize: number; filter: CursorFilter };
  try {
    cursor = decodeCursor(query.cursor, { maxPageSize: defaults.maxLimit });
  } catch {
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
