// CONTRACT.md § Common rules (character set) and § TMO field conventions: TMO accepts only
// printable ASCII 0x20–0x7E, upper case, names truncated to 40 characters.

/** Letters NFKD cannot decompose into ASCII plus combining marks. */
const SPECIAL: Readonly<Record<string, string>> = {
  ß: 'ss', ẞ: 'SS',
  æ: 'ae', Æ: 'AE',
  œ: 'oe', Œ: 'OE',
  ø: 'o', Ø: 'O',
  ł: 'l', Ł: 'L',
  đ: 'd', Đ: 'D',
  ð: 'd', Ð: 'D',
  þ: 'th', Þ: 'TH',
  ı: 'i',
  ħ: 'h', Ħ: 'H',
  ŧ: 't', Ŧ: 'T',
  ĸ: 'k',
  ŀ: 'l', Ŀ: 'L',
  '\u02BC': "'",
  '\u2044': '/',
  ſ: 's',
  '\u2018': "'", '\u2019': "'", '\u201A': "'", '\u201B': "'", '\u2032': "'", '\u00B4': "'",
  '\u201C': '"', '\u201D': '"', '\u201E': '"', '\u201F': '"', '\u2033': '"', '\u00AB': '"', '\u00BB': '"',
  '\u2010': '-', '\u2011': '-', '\u2012': '-', '\u2013': '-', '\u2014': '-', '\u2015': '-', '\u2212': '-',
  '\u20AC': 'EUR',
  '\u00D7': 'X',
  '\u00B0': 'O',
  '\u00A7': 'S',
};

const COMBINING_MARKS = /\p{M}/gu;
const WHITESPACE = /[\s\u00A0\u2000-\u200B\u2028\u2029\u202F\u205F\u3000]+/gu;
const NOT_PRINTABLE_ASCII = /[^\x20-\x7E]/g;

/**
 * Transliterates any Unicode text to printable ASCII (0x20–0x7E): NFKD, combining marks
 * removed, a small table for letters that do not decompose (ß, æ, ø, ł, …) and typographic
 * quotes/dashes. Characters with no ASCII reading are dropped; any run of whitespace becomes
 * one space; the result is trimmed. Case is preserved.
 */
export function toAsciiText(value: string): string {
  let out = '';
  // After NFKD: compatibility forms are already split (`½` → `1⁄2`, `ŉ` → `ʼn`).
  for (const ch of value.normalize('NFKD')) {
    const mapped = SPECIAL[ch];
    out += mapped ?? ch;
  }
  return out
    .replace(COMBINING_MARKS, '')
    .replace(WHITESPACE, ' ')
    .replace(NOT_PRINTABLE_ASCII, '')
    .replace(/ {2,}/g, ' ')
    .trim();
}

/**
 * A value as TMO wants it in a string field: ASCII-transliterated, upper case, truncated to
 * `max` characters (truncation happens after transliteration, since `ß` becomes `SS`), no
 * trailing space after truncation.
 */
export function toTmoText(value: string, max: number): string {
  return toAsciiText(value).toUpperCase().slice(0, max).trimEnd();
}

/** TMO field maxima (CONTRACT.md § TMO operations). */
export const TMO_MAX = {
  name: 40,
  addressLine: 40,
  city: 25,
  crmRef: 12,
} as const;

/**
 * A code or identifier for TMO (VAT number, MCC, ZIP, province, country): ASCII upper case
 * but never truncated — a silently shortened identifier would address the wrong record, so
 * an over-long one goes through and TMO rejects it (E101).
 */
export function toTmoCode(value: string): string {
  return toAsciiText(value).toUpperCase();
}
