// CONTRACT.md § TMO field conventions (dates `YYYYMMDD`, times `HHMMSS`) and § CRM field
// conventions (dates `DD/MM/YYYY`); § Common rules: empty string means "no value".
// The contract is silent on TMO's time zone: the caller passes an IANA zone (the gateway
// default is `Europe/Rome`) and the offset comes from Intl, DST included.
import { ValidationError } from '../../domain/errors/index.ts';
import { contractViolation } from './violation.ts';

interface DateParts {
  year: number;
  month: number;
  day: number;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Days in `month` (1–12) of `year` in the proleptic Gregorian calendar, as `Date` counts them. */
function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** A calendar date from year 1 on (arithmetic: no `Date` per check; the test compares it with `Date` for 0001–9999). */
function isValidDate({ year, month, day }: DateParts): boolean {
  return year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

function isoDate(p: DateParts): string {
  return `${pad(p.year, 4)}-${pad(p.month, 2)}-${pad(p.day, 2)}`;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function parseIsoDate(value: string, field: string): DateParts {
  const m = ISO_DATE.exec(value);
  const parts = m ? { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) } : undefined;
  if (!parts || !isValidDate(parts)) {
    throw new ValidationError('date.invalid', `${field} must be a date YYYY-MM-DD`, {
      fields: [{ field, reason: 'must be a date YYYY-MM-DD' }],
    });
  }
  return parts;
}

const TMO_DATE = /^(\d{4})(\d{2})(\d{2})$/;
const CRM_DATE = /^(\d{2})\/(\d{2})\/(\d{4})$/;

/** TMO `YYYYMMDD` → ISO `YYYY-MM-DD`; `''` → null; anything else → TranslationError. */
export function fromTmoDate(value: string, field = 'date'): string | null {
  if (value === '') return null;
  const m = TMO_DATE.exec(value);
  const parts = m ? { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) } : undefined;
  if (!parts || !isValidDate(parts)) throw contractViolation('tmo', field, 'an invalid date');
  return isoDate(parts);
}

/** ISO `YYYY-MM-DD` → TMO `YYYYMMDD`; null → `''`. An invalid ISO date is the caller's error. */
export function toTmoDate(value: string | null, field = 'date'): string {
  if (value === null) return '';
  const p = parseIsoDate(value, field);
  return `${pad(p.year, 4)}${pad(p.month, 2)}${pad(p.day, 2)}`;
}

/** CRM `DD/MM/YYYY` → ISO `YYYY-MM-DD`; `''` → null; anything else → TranslationError. */
export function fromCrmDate(value: string, field = 'date'): string | null {
  if (value === '') return null;
  const m = CRM_DATE.exec(value);
  const parts = m ? { year: Number(m[3]), month: Number(m[2]), day: Number(m[1]) } : undefined;
  if (!parts || !isValidDate(parts)) throw contractViolation('crm', field, 'an invalid date');
  return isoDate(parts);
}

/** ISO `YYYY-MM-DD` → CRM `DD/MM/YYYY`; null → `''`. */
export function toCrmDate(value: string | null, field = 'date'): string {
  if (value === null) return '';
  const p = parseIsoDate(value, field);
  return `${pad(p.day, 2)}/${pad(p.month, 2)}/${pad(p.year, 4)}`;
}

// One formatter per zone: building Intl.DateTimeFormat is the expensive part.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      era: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when `timeZone` is an IANA zone this runtime knows (use it to validate configuration). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

// `format()` plus a regex is ~3x cheaper than `formatToParts()`; parts remain the fallback
// should a runtime ever print en-US differently.
const EN_US = /^(\d{2})\/(\d{2})\/(\d+) (AD|BC), (\d{2}):(\d{2}):(\d{2})$/;

/** Offset of `timeZone` from UTC at instant `epochMs`, in milliseconds (Rome in summer: +7_200_000). */
export function zoneOffsetMs(epochMs: number, timeZone: string): number {
  const f = formatterFor(timeZone);
  const date = new Date(epochMs);
  let year: number, month: number, day: number, hour: number, minute: number, second: number;
  const m = EN_US.exec(f.format(date));
  if (m) {
    year = m[4] === 'BC' ? 1 - Number(m[3]) : Number(m[3]);
    month = Number(m[1]);
    day = Number(m[2]);
    hour = Number(m[5]);
    minute = Number(m[6]);
    second = Number(m[7]);
  } else {
    const parts = f.formatToParts(date);
    const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value ?? NaN);
    year = get('year');
    if (parts.find((p) => p.type === 'era')?.value === 'BC') year = 1 - year;
    month = get('month');
    day = get('day');
    hour = get('hour');
    minute = get('minute');
    second = get('second');
  }
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC maps years 0–99 to 1900–1999; set the year explicitly.
  const exact = year >= 0 && year < 100 ? new Date(asUtc).setUTCFullYear(year) : asUtc;
  // The formatter drops milliseconds: compare against the instant truncated to the second.
  return exact - Math.floor(epochMs / 1000) * 1000;
}

/**
 * Wall-clock fields in `timeZone` → epoch ms. DST rules follow Temporal's `compatible`
 * disambiguation: an ambiguous time (autumn fall-back) takes the earlier instant, a time in
 * the spring-forward gap moves forward by the gap.
 */
export function wallClockToEpochMs(
  wall: { year: number; month: number; day: number; hour: number; minute: number; second: number },
  timeZone: string,
): number {
  return wallToEpochMs(wall.year, wall.month, wall.day, wall.hour, wall.minute, wall.second, timeZone);
}

const DAY_MS = 86_400_000;

function wallToEpochMs(year: number, month: number, day: number, hour: number, minute: number, second: number, timeZone: string): number {
  // Date.UTC maps years 0–99 to 1900–1999: set the date explicitly for those
  const midnight = year >= 0 && year < 100 ? new Date(0).setUTCFullYear(year, month - 1, day) : Date.UTC(year, month - 1, day);
  const asUtc = midnight + ((hour * 60 + minute) * 60 + second) * 1000;
  const steady = steadyDayOffset(midnight, timeZone);
  if (steady !== null) return asUtc - steady;
  const offBefore = zoneOffsetMs(asUtc - DAY_MS, timeZone);
  const offAfter = zoneOffsetMs(asUtc + DAY_MS, timeZone);
  // No transition within a day either side (nearly always): one offset, one answer.
  if (offBefore === offAfter) return asUtc - offBefore;
  const before = asUtc - offBefore;
  const after = asUtc - offAfter;
  const valid = [before, after].filter((t) => t + zoneOffsetMs(t, timeZone) === asUtc);
  if (valid.length > 0) return Math.min(...valid);
  // In the gap: interpret with the offset before the transition, which lands after it.
  return before;
}

/**
 * The zone's offset on the calendar day starting at `midnight` (UTC ms of the wall-clock
 * midnight) when no transition is near it (null otherwise), remembered per zone and day:
 * Intl formatting costs tens of µs and the hot read path (`GET /v1/terminals/{id}`) converts a
 * last-seen time on every call. A pure memo: the same inputs always give the same answer. The
 * day is a number key in a map per zone (the last zone asked is kept at hand): building a
 * `zone|y-m-d` string key per call was most of the lookup's cost (issue 8).
 */
const steadyOffsets = new Map<string, Map<number, number | null>>();
let lastZone: string | undefined;
let lastZoneDays: Map<number, number | null> | undefined;
const MAX_REMEMBERED_DAYS = 10_000;

function steadyDayOffset(midnight: number, timeZone: string): number | null {
  let days = timeZone === lastZone ? lastZoneDays : steadyOffsets.get(timeZone);
  if (days === undefined) {
    if (steadyOffsets.size >= 100) steadyOffsets.clear(); // a zone is configuration: a handful at most
    days = new Map();
    steadyOffsets.set(timeZone, days);
  }
  lastZone = timeZone;
  lastZoneDays = days;
  const known = days.get(midnight);
  if (known !== undefined) return known;
  // one offset from the day before to the day after covers every hour of the day ± 1 day
  const before = zoneOffsetMs(midnight - DAY_MS, timeZone);
  const after = zoneOffsetMs(midnight + 2 * DAY_MS, timeZone);
  const steady = before === after ? before : null;
  if (days.size >= MAX_REMEMBERED_DAYS) days.clear();
  days.set(midnight, steady);
  return steady;
}

/**
 * TMO `LAST_SEEN_DATE` + `LAST_SEEN_TIME` (wall clock in `timeZone`) → ISO 8601 instant
 * (`2024-03-01T09:15:30.000Z`). Both empty → null. A date without a time is read as
 * midnight (the contract does not forbid it); a time without a date, or any malformed value,
 * is a contract violation.
 */
export function fromTmoDateTime(date: string, time: string, timeZone: string, field = 'LAST_SEEN'): string | null {
  if (date === '' && time === '') return null;
  if (date === '') throw contractViolation('tmo', field, 'a time without a date');
  // `YYYYMMDD` and `HHMMSS` read by char code: what TMO_DATE / TMO_TIME accept, without a match array each
  const year = date.length === 8 ? digitsAt(date, 0, 4) : -1;
  const month = year === -1 ? -1 : digitsAt(date, 4, 2);
  const day = year === -1 ? -1 : digitsAt(date, 6, 2);
  const timeOk = time === '' || time.length === 6;
  const hour = time === '' ? 0 : timeOk ? digitsAt(time, 0, 2) : -1;
  const minute = time === '' ? 0 : timeOk ? digitsAt(time, 2, 2) : -1;
  const second = time === '' ? 0 : timeOk ? digitsAt(time, 4, 2) : -1;
  if (year === -1 || month === -1 || day === -1 || hour === -1 || minute === -1 || second === -1) {
    throw contractViolation('tmo', field, 'an invalid date or time');
  }
  if (!isValidDate({ year, month, day })) throw contractViolation('tmo', field, 'an invalid date or time');
  if (hour > 23 || minute > 59 || second > 59) throw contractViolation('tmo', field, 'an invalid time');
  return isoInstant(wallToEpochMs(year, month, day, hour, minute, second, timeZone));
}

const TWO_DIGITS = Array.from({ length: 100 }, (_, n) => String(n).padStart(2, '0'));

/**
 * `new Date(ms).toISOString()` for years 0000–9999, by arithmetic (days → civil date, H. Hinnant's
 * algorithm): `Date` + `toISOString` cost ~1.3 µs of the ~2 µs conversion on this box (issue 8).
 * Any other instant (expanded years, NaN) goes to `toISOString` itself; the test compares both.
 */
export function isoInstant(ms: number): string {
  if (!Number.isInteger(ms)) return new Date(ms).toISOString();
  const days = Math.floor(ms / DAY_MS);
  const z = days + 719_468; // days since 0000-03-01
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (!(year >= 0 && year <= 9999)) return new Date(ms).toISOString();
  let rest = ms - days * DAY_MS;
  const hour = Math.floor(rest / 3_600_000);
  rest -= hour * 3_600_000;
  const minute = Math.floor(rest / 60_000);
  rest -= minute * 60_000;
  const second = Math.floor(rest / 1000);
  const milli = rest - second * 1000;
  const yyyy = year >= 1000 ? String(year) : String(year).padStart(4, '0');
  const sss = milli >= 100 ? String(milli) : milli >= 10 ? `0${milli}` : `00${milli}`;
  return `${yyyy}-${TWO_DIGITS[month]}-${TWO_DIGITS[day]}T${TWO_DIGITS[hour]}:${TWO_DIGITS[minute]}:${TWO_DIGITS[second]}.${sss}Z`;
}

/** The number written by the `len` ASCII digits at `start` of `s`, or -1 when one is not a digit (`\d`). */
function digitsAt(s: string, start: number, len: number): number {
  let n = 0;
  for (let k = start; k < start + len; k++) {
    const c = s.charCodeAt(k) - 0x30;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** ISO instant → TMO `{ date: 'YYYYMMDD', time: 'HHMMSS' }` as wall clock in `timeZone`; null → empty strings. */
export function toTmoDateTime(instant: string | null, timeZone: string, field = 'instant'): { date: string; time: string } {
  if (instant === null) return { date: '', time: '' };
  const ms = Date.parse(instant);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(instant) || Number.isNaN(ms)) {
    throw new ValidationError('date.invalid', `${field} must be an ISO 8601 instant`, {
      fields: [{ field, reason: 'must be an ISO 8601 instant' }],
    });
  }
  const local = new Date(ms + zoneOffsetMs(ms, timeZone));
  return {
    date: `${pad(local.getUTCFullYear(), 4)}${pad(local.getUTCMonth() + 1, 2)}${pad(local.getUTCDate(), 2)}`,
    time: `${pad(local.getUTCHours(), 2)}${pad(local.getUTCMinutes(), 2)}${pad(local.getUTCSeconds(), 2)}`,
  };
}
