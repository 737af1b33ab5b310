/** Legacy date/time formats, computed in UTC (the simulators' documented time zone). */

const p2 = (n: number) => (n < 10 ? `0${n}` : String(n));

/** TMO date `YYYYMMDD`. */
export function yyyymmdd(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}`;
}

/** TMO time `HHMMSS`. */
export function hhmmss(ms: number): string {
  const d = new Date(ms);
  return `${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}${p2(d.getUTCSeconds())}`;
}

/** CRM date `DD/MM/YYYY`. */
export function ddmmyyyy(ms: number): string {
  const d = new Date(ms);
  return `${p2(d.getUTCDate())}/${p2(d.getUTCMonth() + 1)}/${d.getUTCFullYear()}`;
}
