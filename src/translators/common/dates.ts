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

function isValidDate({ year, month, day }: DateParts): boolean {
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const d = new Date(Date.UTC(2000, month - 1, day));
  d.setUTCFullYear(year);
  return d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
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
const TMO_TIME = /^(\d{2})(\d{2})(\d{2})$/;
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
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  const dayMs = 86_400_000;
  const steady = steadyDayOffset(wall, timeZone);
  if (steady !== null) return asUtc - steady;
  const offBefore = zoneOffsetMs(asUtc - dayMs, timeZone);
  const offAfter = zoneOffsetMs(asUtc + dayMs, timeZone);
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
 * The zone's offset on that calendar day when no transition is near it (null otherwise),
 * remembered per zone and day: Intl formatting costs tens of µs and the hot read path
 * (`GET /v1/terminals/{id}`) converts a last-seen time on every call. A pure memo: the same
 * inputs always give the same answer.
 */
const steadyOffsets = new Map<string, number | null>();
function steadyDayOffset(wall: { year: number; month: number; day: number }, timeZone: string): number | null {
  const key = `${timeZone}|${wall.year}-${wall.month}-${wall.day}`;
  const known = steadyOffsets.get(key);
  if (known !== undefined) return known;
  const midnight = Date.UTC(wall.year, wall.month - 1, wall.day);
  const dayMs = 86_400_000;
  // one offset from the day before to the day after covers every hour of the day ± 1 day
  const before = zoneOffsetMs(midnight - dayMs, timeZone);
  const after = zoneOffsetMs(midnight + 2 * dayMs, timeZone);
  const steady = before === after ? before : null;
  if (steadyOffsets.size >= 10_000) steadyOffsets.clear();
  steadyOffsets.set(key, steady);
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
  const d = TMO_DATE.exec(date);
  const t = time === '' ? ['', '00', '00', '00'] : TMO_TIME.exec(time);
  if (!d || !t) throw contractViolation('tmo', field, 'an invalid date or time');
  const year = Number(d[1]);
  const month = Number(d[2]);
  const day = Number(d[3]);
  if (!isValidDate({ year, month, day })) throw contractViolation('tmo', field, 'an invalid date or time');
  const hour = Number(t[1]);
  const minute = Number(t[2]);
  const second = Number(t[3]);
  if (hour > 23 || minute > 59 || second > 59) throw contractViolation('tmo', field, 'an invalid time');
  // one literal, no `{ ...parts }` spread: the spread alone was ~3 of this function's ~5 µs (issue 8)
  return new Date(wallClockToEpochMs({ year, month, day, hour, minute, second }, timeZone)).toISOString();
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
