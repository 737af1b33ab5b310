import { describe, expect, it } from 'vitest';
import { staleAllowance } from './stale-if-error.ts';

describe('staleAllowance (request Cache-Control)', () => {
  it.each<[string | undefined, { allowed: boolean; maxStaleS: number }]>([
    [undefined, { allowed: true, maxStaleS: Infinity }],
    ['', { allowed: true, maxStaleS: Infinity }],
    ['no-cache', { allowed: false, maxStaleS: Infinity }],
    ['No-Cache, max-stale=60', { allowed: false, maxStaleS: 60 }],
    ['no-store', { allowed: false, maxStaleS: Infinity }],
    ['max-stale=120', { allowed: true, maxStaleS: 120 }],
    ['max-stale="30"', { allowed: true, maxStaleS: 30 }],
    ['max-stale', { allowed: true, maxStaleS: Infinity }],
    ['max-age=0, max-stale=5', { allowed: true, maxStaleS: 5 }],
    // not delta-seconds: the most restrictive reading, 0 (before 2026-11-28: any age)
    ['max-stale=abc', { allowed: true, maxStaleS: 0 }],
    ['max-stale=-5', { allowed: true, maxStaleS: 0 }],
    ['max-stale=1.5', { allowed: true, maxStaleS: 0 }],
    ['max-stale=', { allowed: true, maxStaleS: 0 }],
    ['stale-if-error', { allowed: true, maxStaleS: 0 }],
    ['max-stale=abc, stale-if-error=45', { allowed: true, maxStaleS: 0 }],
    ['max-stale=007', { allowed: true, maxStaleS: 7 }],
    ['stale-if-error=45', { allowed: true, maxStaleS: 45 }],
    ['max-stale=120, stale-if-error=45', { allowed: true, maxStaleS: 45 }],
    ['Stale-If-Error=300, max-stale=60', { allowed: true, maxStaleS: 60 }],
    ['no-cache, stale-if-error=45', { allowed: false, maxStaleS: 45 }],
  ])('when the request says %j, then a copy is allowed: %j', (header, expected) => {
    expect(staleAllowance(header)).toEqual(expected);
  });
});
