import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, type CursorPayload } from './cursor-codec.ts';

const enc = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('cursor', () => {
  it.each<CursorPayload>([
    { page: 1, pageSize: 20, filter: {} },
    { page: 7, pageSize: 50, filter: { partnerId: 'C000000001', segment: null } },
    { page: 2, pageSize: 100, filter: { segment: 'retail', active: true, n: 3 } },
  ])('when %j is encoded and decoded, then it round-trips through an url-safe string', (payload) => {
    const cursor = encodeCursor(payload);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(payload);
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'abc+/='],
    ['not JSON', Buffer.from('nope').toString('base64url')],
    ['JSON null', enc(null)],
    ['another version', enc({ v: 2, p: 1, s: 20, f: {} })],
    ['no version', enc({ p: 1, s: 20, f: {} })],
    ['page 0', enc({ v: 1, p: 0, s: 20, f: {} })],
    ['fractional page', enc({ v: 1, p: 1.5, s: 20, f: {} })],
    ['page as string', enc({ v: 1, p: '1', s: 20, f: {} })],
    ['page size 0', enc({ v: 1, p: 1, s: 0, f: {} })],
    ['filter not an object', enc({ v: 1, p: 1, s: 20, f: [] })],
    ['nested filter', enc({ v: 1, p: 1, s: 20, f: { a: { b: 1 } } })],
    ['too long', 'A'.repeat(5000)],
  ])('when the cursor is %s, then it is a validation error on field cursor', (_label, cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(
      expect.objectContaining({ kind: 'validation', code: 'cursor.invalid', fields: [{ field: 'cursor', reason: expect.any(String) }] }),
    );
  });

  it('when the page size exceeds the maximum, then it is a validation error', () => {
    const cursor = encodeCursor({ page: 1, pageSize: 200, filter: {} });
    expect(() => decodeCursor(cursor, { maxPageSize: 100 })).toThrow(expect.objectContaining({ code: 'cursor.invalid' }));
  });

  it.each([
    [{ segment: 'retail' }, { segment: 'retail' }, true],
    [{ segment: 'retail', partnerId: null }, { segment: 'retail' }, true],
    [{ segment: 'retail' }, { segment: 'corporate' }, false],
    [{}, { partnerId: 'C000000001' }, false],
  ])('when a cursor for %j is used with query %j, then accepted is %s', (made, used, ok) => {
    const cursor = encodeCursor({ page: 2, pageSize: 10, filter: made });
    const run = (): unknown => decodeCursor(cursor, { filter: used });
    if (ok) expect(run()).toMatchObject({ page: 2, pageSize: 10 });
    else expect(run).toThrow(expect.objectContaining({ code: 'cursor.invalid' }));
  });
});
