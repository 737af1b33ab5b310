import { describe, expect, it } from 'vitest';
import { nextCursor, pageFromQuery } from './cursor.ts';
import { ProblemError } from './problem.ts';

const filter = { list: 'merchants', partnerId: null, segment: 'retail' };
const limits = { defaultLimit: 20, maxLimit: 100 };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof ProblemError ? err.problem.code : 'not a problem';
  }
  return undefined;
}

describe('pageFromQuery', () => {
  it('when there is no cursor, then page 1 of the limit or the default', () => {
    expect(pageFromQuery({}, filter, limits)).toEqual({ page: 1, pageSize: 20 });
    expect(pageFromQuery({ limit: 7 }, filter, limits)).toEqual({ page: 1, pageSize: 7 });
  });

  it('when a cursor made by nextCursor comes back with the same filter, then it points at the next page', () => {
    const cursor = nextCursor(3, 7, filter);
    expect(cursor).not.toBeNull();
    expect(pageFromQuery({ cursor: cursor! }, { ...filter }, limits)).toEqual({ page: 3, pageSize: 7 });
    expect(pageFromQuery({ cursor: cursor!, limit: 7 }, filter, limits)).toEqual({ page: 3, pageSize: 7 });
  });

  it('when there is no next page, then there is no cursor', () => {
    expect(nextCursor(null, 7, filter)).toBeNull();
  });

  it.each([
    ['not base64url', '%%%'],
    ['base64 of non-JSON', Buffer.from('hello').toString('base64url')],
    ['another version', Buffer.from(JSON.stringify({ v: 9, p: 1, s: 5, f: {} })).toString('base64url')],
    ['a negative page', Buffer.from(JSON.stringify({ v: 1, p: -1, s: 5, f: {} })).toString('base64url')],
    ['a page size above the maximum', Buffer.from(JSON.stringify({ v: 1, p: 2, s: 500, f: filter })).toString('base64url')],
  ])('when the cursor is %s, then request.cursor_invalid', (_l, cursor) => {
    expect(codeOf(() => pageFromQuery({ cursor }, filter, limits))).toBe('request.cursor_invalid');
  });

  it('when the cursor was made for another filter or list, then request.cursor_mismatch', () => {
    const cursor = nextCursor(2, 20, filter)!;
    expect(codeOf(() => pageFromQuery({ cursor }, { ...filter, segment: 'corporate' }, limits))).toBe('request.cursor_mismatch');
    expect(codeOf(() => pageFromQuery({ cursor }, { ...filter, list: 'partner-merchants' }, limits))).toBe('request.cursor_mismatch');
  });

  it('when the limit differs from the cursor page size, then request.cursor_mismatch on limit', () => {
    const cursor = nextCursor(2, 20, filter)!;
    expect(codeOf(() => pageFromQuery({ cursor, limit: 10 }, filter, limits))).toBe('request.cursor_mismatch');
  });
});
