// NODE-SOAP-NOTES.md § Results: one item comes back as an object, several as an array, an
// empty list as `null`, `''` (empty element) or an absent key. Callers always get an array.

/**
 * Normalises a repeated XML element to an array: `undefined`/`null`/`''` → `[]`, a single
 * item → `[item]`, an array unchanged.
 */
export function asArray<T>(value: T | T[] | null | undefined | ''): T[] {
  if (value === undefined || value === null || value === '') return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * Items of a list wrapper such as `TERMINALS: { TERMINAL: [...] }` or `TERMINALS: null`.
 * `wrapper` may be absent, `null`, `''` or an object holding `key` as one item or an array.
 */
export function listItems<T>(wrapper: unknown, key: string): T[] {
  if (wrapper === undefined || wrapper === null || wrapper === '' || typeof wrapper !== 'object') return [];
  return asArray((wrapper as Record<string, T | T[] | null | undefined>)[key]);
}
