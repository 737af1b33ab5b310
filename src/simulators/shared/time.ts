/**
 * Legacy date/time formats in the simulator's zone (option `timeZone`, default UTC). The
 * contract does not say which zone TMO and CRM keep; the gateway reads them in
 * LEGACY_TIME_ZONE, and the embedded default runs the simulators in that same zone.
 */

const p2 = (n: number) => (n < 10 ? `0${n}` : String(n));

interface WallClock {
  y: string;
  mo: string;
  d: string;
  h: string;
  mi: string;
  s: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function wallClock(ms: number, zone: string): WallClock {
  const d = new Date(ms);
  if (zone === 'UTC') {
    return {
      y: String(d.getUTCFullYear()),
      mo: p2(d.getUTCMonth() + 1),
      d: p2(d.getUTCDate()),
      h: p2(d.getUTCHours()),
      mi: p2(d.getUTCMinutes()),
      s: p2(d.getUTCSeconds()),
    };
  }
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(zone, f);
  }
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(d)) parts[p.type] = p.value;
  return { y: parts.year ?? '', mo: parts.month ?? '', d: parts.day ?? '', h: parts.hour ?? '', mi: parts.minute ?? '', s: parts.second ?? '' };
}

/** TMO date `YYYYMMDD`. */
export function yyyymmdd(ms: number, zone = 'UTC'): string {
  const w = wallClock(ms, zone);
  return `${w.y}${w.mo}${w.d}`;
}

/** TMO time `HHMMSS`. */
export function hhmmss(ms: number, zone = 'UTC'): string {
  const w = wallClock(ms, zone);
  return `${w.h}${w.mi}${w.s}`;
}

/** CRM date `DD/MM/YYYY`. */
export function ddmmyyyy(ms: number, zone = 'UTC'): string {
  const w = wallClock(ms, zone);
  return `${w.d}/${w.mo}/${w.y}`;
}
