import { describe, expect, it } from 'vitest';
import { LruMap } from './lru.ts';

describe('LruMap', () => {
  it('when more keys than max are set, then the least recently used one is forgotten', () => {
    const m = new LruMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    expect(m.get('a')).toBe(1); // b is now the least recently used
    m.set('c', 3);
    expect(m.get('b')).toBeUndefined();
    expect([m.get('a'), m.get('c'), m.size]).toEqual([1, 3, 2]);
  });

  it('when the most recently used key is read again and again, then the order is as if each read moved it', () => {
    const m = new LruMap<string, number>(3);
    for (const k of ['a', 'b', 'c']) m.set(k, k.charCodeAt(0));
    for (const k of ['b', 'b', 'a', 'a', 'a', 'c', 'c', 'b']) m.get(k); // order now: a, c, b
    m.set('d', 4); // forgets a
    expect(m.get('a')).toBeUndefined();
    m.set('e', 5); // forgets c
    expect(m.get('c')).toBeUndefined();
    expect([m.get('b'), m.get('d'), m.get('e')]).toEqual([98, 4, 5]);
  });

  it('when a key is set again, then it becomes the most recently used with its new value', () => {
    const m = new LruMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    m.set('a', 10); // b is now the least recently used
    m.get('a');
    m.set('c', 3);
    expect([m.get('b'), m.get('a'), m.get('c')]).toEqual([undefined, 10, 3]);
  });
});
