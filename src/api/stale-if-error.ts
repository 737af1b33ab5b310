/**
 * Reads that survive a legacy outage (RFC 5861 stale-if-error, RFC 9211 Cache-Status): when
 * the legacy read fails as unavailable or timed out (breaker open included), answer 200 from
 * the last-known copy with `Age` and `Cache-Status: legacy-gateway; hit; detail=stale-if-error`.
 * The client decides: `Cache-Control: no-cache` → the error as it is; `max-stale=<s>` or
 * `stale-if-error=<s>` → a copy at most that old. A fresh answer never carries these headers; it refreshes the copy
 * (confirmed when the legacy read was sent), unless the request says `no-store` (RFC 9111 §5.2.1.5).
 */
import type { Context } from 'hono';
import { isGatewayErrorLike } from '../domain/errors/index.ts';
import type { LastKnown, LastKnownEntities, LastKnownKind, LastKnownPort } from '../domain/read-model.port.ts';
import type { ApiEnv } from './env.ts';
import { setResponseHeader } from './middleware/response-headers/index.ts';

export const CACHE_STATUS_STALE = 'legacy-gateway; hit; detail=stale-if-error';

/** delta-seconds (RFC 9111 §1.2.2), bare or quoted */
const DELTA_SECONDS = /^(?:\d+|"\d+")$/;

/**
 * What the request's `Cache-Control` allows: no copy at all (`no-cache`, `no-store`), or one at
 * most `maxStaleS` old (the smallest of `max-stale=<s>` and `stale-if-error=<s>`). A bare
 * `max-stale` allows any age (RFC 9111 §5.2.1.2). A bound that is not delta-seconds
 * (`max-stale=abc`, `=-5`, `=1.5`, a bare `stale-if-error`) is read as 0, the most restrictive
 * reading (RFC 9111 §4.2.1 has caches treat invalid freshness information as stale): only a copy
 * confirmed this second, never one of any age the client did not ask for.
 */
export function staleAllowance(header: string | undefined): { allowed: boolean; maxStaleS: number } {
  let allowed = true;
  let maxStaleS = Infinity;
  for (const [name, rawValue] of directives(header ?? '')) {
    if (name === 'no-cache' || name === 'no-store') allowed = false;
    // RFC 5861 §4: `stale-if-error=<s>` on a request bounds the copy's staleness for this request
    else if ((name === 'max-stale' && rawValue !== undefined) || name === 'stale-if-error') {
      const value = rawValue?.trim() ?? '';
      const s = DELTA_SECONDS.test(value) ? Number(value.replace(/"/g, '')) : 0;
      maxStaleS = Math.min(maxStaleS, s);
    }
  }
  return { allowed, maxStaleS };
}

/** The request's `Cache-Control` has `no-store`: nothing of this exchange may be stored (RFC 9111 §5.2.1.5). */
export function forbidsStore(header: string): boolean {
  for (const [name] of directives(header)) if (name === 'no-store') return true;
  return false;
}

/** A `Cache-Control` header's directives: the name lower-cased and trimmed, the raw value if any. */
function* directives(header: string): Generator<[name: string, rawValue: string | undefined]> {
  for (const part of header.split(',')) {
    const [rawName, rawValue] = part.split('=', 2) as [string, string | undefined];
    yield [rawName.trim().toLowerCase(), rawValue];
  }
}

function isOutage(err: unknown): boolean {
  return isGatewayErrorLike(err) && (err.kind === 'unavailable' || err.kind === 'timeout') && !err.code.endsWith('.aborted');
}

/**
 * Runs the fresh read; on success records the copy (without waiting) as confirmed when the read
 * was sent — `Age` may then be overstated by the read's duration, never understated, and a read
 * sent before a write cannot pass for newer than the write's copy — unless the request says
 * `no-store`; on an outage answers
 * from the copy when the request allows it, else rethrows the original error. `fromCopy` may
 * amend a copy about to be answered with a later word from elsewhere (a terminal's snapshot
 * status); the `Age` still counts from the copy's confirmation.
 */
export function readThrough<K extends LastKnownKind>(
  c: Context<ApiEnv>,
  lastKnown: LastKnownPort | undefined,
  kind: K,
  id: string,
  fresh: () => Promise<LastKnownEntities[K]>,
  fromCopy?: (copy: LastKnown<LastKnownEntities[K]>) => Promise<LastKnownEntities[K]>,
): Promise<LastKnownEntities[K]> {
  // Not `async`: the fresh read is the hot path, one promise layer less per request (issue 8).
  // A synchronous throw of `fresh` takes the same way as its rejection.
  // One header read per request, parsed only when present.
  const cacheControl = c.req.header('Cache-Control');
  const sentAt = Date.now();
  let read: Promise<LastKnownEntities[K]>;
  try {
    read = fresh();
  } catch (err) {
    read = Promise.reject(err);
  }
  return read.then(
    (value) => {
      try {
        if (cacheControl === undefined || !forbidsStore(cacheControl)) lastKnown?.remember(kind, id, value, sentAt);
      } catch (err) {
        return fromLastKnown(c, lastKnown, kind, id, err, cacheControl, fromCopy);
      }
      return value;
    },
    (err: unknown) => fromLastKnown(c, lastKnown, kind, id, err, cacheControl, fromCopy),
  );
}

/** The outage branch of {@link readThrough}: the copy when allowed, else the original error. */
async function fromLastKnown<K extends LastKnownKind>(
  c: Context<ApiEnv>,
  lastKnown: LastKnownPort | undefined,
  kind: K,
  id: string,
  err: unknown,
  cacheControl: string | undefined,
  fromCopy?: (copy: LastKnown<LastKnownEntities[K]>) => Promise<LastKnownEntities[K]>,
): Promise<LastKnownEntities[K]> {
  if (lastKnown === undefined) throw err;
  // legacy says it does not exist (an erased customer): its copy must not answer a later outage
  if (isGatewayErrorLike(err) && err.kind === 'not_found') lastKnown.forget(kind, id);
  if (!isOutage(err)) throw err;
  const { allowed, maxStaleS } = staleAllowance(cacheControl);
  if (!allowed) throw err;
  const copy = await lastKnown.recall(kind, id);
  if (copy === null) throw err;
  const age = Math.max(0, Math.floor((Date.now() - copy.confirmedAt) / 1000));
  if (age > maxStaleS) throw err;
  setResponseHeader(c, 'Age', String(age));
  setResponseHeader(c, 'Cache-Status', CACHE_STATUS_STALE);
  const value = fromCopy ? await fromCopy(copy) : copy.value;
  c.get('logger').warn({ event: 'served_stale', kind, code: (err as { code: string }).code, ageS: age }, 'legacy unavailable: answered from the last-known copy');
  return value;
}

/** OpenAPI text and headers for the routes that answer from the copy. */
export const STALE_IF_ERROR_NOTE =
  '\n\nWhen the legacy system is unavailable or does not answer in time (its circuit breaker open included), the last-known copy ' +
  'of the resource (kept for every resource read or written through the gateway, `READ_MODEL_TTL_SECONDS`, default 7 days) ' +
  'is answered with 200, `Age: <seconds since the legacy system last confirmed it>` and ' +
  '`Cache-Status: legacy-gateway; hit; detail=stale-if-error` (RFC 5861, RFC 9211) instead of 503/504. ' +
  'Send `Cache-Control: no-cache` (or `no-store`) to get the 503/504 instead, or `Cache-Control: max-stale=<seconds>` (or RFC 5861\'s request directive `stale-if-error=<seconds>`) to accept only a copy at most that old (a value that is not whole seconds is read as 0). ' +
  'A resource never seen by the gateway, or last answered 404 by the legacy system, still answers 503/504. A fresh answer never carries `Age` or `Cache-Status`. ' +
  'A read with `Cache-Control: no-store` does not update the copy (RFC 9111).';

/** The terminal read's addition to {@link STALE_IF_ERROR_NOTE}: the nightly snapshot's later word on the status. */
export const TERMINAL_SNAPSHOT_NOTE =
  ' From the copy, a terminal\'s `status` is the latest TERMSTAT snapshot\'s when TMO wrote that snapshot after the copy was ' +
  'last confirmed (TMO writes it after the end of its `activity.date`); `lastSeenAt` is always the later of the two. `Age` still ' +
  'counts from the copy: the other fields are as old as it.';

export const STALE_HEADERS = {
  Age: { description: 'Only on an answer from the last-known copy: seconds since the legacy system last confirmed it.', schema: { type: 'integer' as const } },
  'Cache-Status': { description: 'Only on an answer from the last-known copy: `legacy-gateway; hit; detail=stale-if-error`.', schema: { type: 'string' as const } },
};

