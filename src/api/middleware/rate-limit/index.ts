/**
 * Inbound rate limits per client (token subject) and route group, shared by every gateway
 * instance through Redis: two instances behind a load balancer hold one limit, not two. Over the
 * limit: 429 `request.rate_limited` with `Retry-After`; every limited answer carries the IETF
 * `RateLimit-Policy` and `RateLimit` headers (draft-ietf-httpapi-ratelimit-headers). When Redis
 * fails (or is not connected) the request is counted in this process's memory instead, with the
 * same limit (docs/DECISIONS.md): each instance then holds the limit on its own, so a client gets
 * at most the limit times the number of instances, rather than no limit at all, and a Redis
 * hiccup does not become an outage.
 *
 * **Points are leased from Redis in blocks** (docs/DECISIONS.md, issue 8), so a busy client costs
 * one Redis round trip per block instead of one per request:
 *
 * - Redis holds one fixed window per (group, subject): a hash `{ n: points granted, w: window
 *   id }` that expires at the window's end (set when the window starts). One Lua script
 *   (`LEASE_SCRIPT`, one key under `keyPrefix`, so on the deployment's hash tag for Redis
 *   Cluster) gives back the unused points of this process's previous lease if they belong to
 *   the same window, then grants `min(wanted, max(1, floor(left / 4)))` more. The share shrinks
 *   as the window fills: the last points are counted one by one in Redis, and no instance can
 *   sit on most of what is left. Redis never grants past the limit, so the limit is never
 *   exceeded, whatever the instances do with their leases.
 * - This process keeps the lease per (group, subject): points left, the window it belongs to
 *   and the lease's deadline (`leaseMs` after it was taken). A request takes a point from it
 *   without Redis while it has points and is neither past its deadline nor past its window's
 *   end (a lease never crosses a window boundary; the window's end is reckoned from when the
 *   script was sent, so it is never later than Redis's).
 * - `wanted` is 1 unless this process saw the (group, subject) at least `LEASE_FROM` times in
 *   the last `RATE_MS` (a sliding estimate): then about what that rate uses in one lease, at
 *   most `MAX_LEASE`. Requests waiting for a script call already in flight for the same client
 *   wait for it (one call per client at a time) and are added to the next call's `wanted`:
 *   points for requests already waiting are used at once, never stranded. A quiet client (the
 *   default limits at normal use, the tests) therefore costs one script call per request as
 *   before, and its count in Redis is exact.
 * - Unused lease points go back with this process's next call for that client in the same
 *   window (no timers). When a process stops, or a client stops calling it, its unused points
 *   stay counted until the window ends: the error is always on the safe side (fewer admitted,
 *   never more), at most the last lease of each instance (≤ `MAX_LEASE`, ≤ a quarter of what was
 *   left when it was taken).
 * - Granted 0 (the window is used up), or the last point of a lease taken when the window was
 *   full: this process refuses the client from memory until the window ends (as
 *   rate-limiter-flexible's `inMemoryBlockOnConsumed` did): over the limit, a client costs no
 *   Redis round trip. Points another instance gives back later in that window are not seen by a
 *   blocked instance (again on the safe side).
 * - `RateLimit`'s `r=` is the remaining points as this instance knows them: the Redis count at
 *   its last grant plus its lease's unused points. Exact for a quiet client; approximate (other
 *   instances' leases since the grant are not seen) under a lease.
 * - Memory is bounded: at most `maxLeases` clients per group (the least recently renewed one
 *   is dropped first; dropping a lease only loses its unused points, on the safe side).
 *
 * Mount it after `authenticate` (it reads `c.var.principal`).
 */
import type { MiddlewareHandler } from 'hono';
import type { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { ApiEnv } from '../../env.ts';
import { problem, problemResponse } from '../../problem.ts';
import { beginResponseHeaders, finishResponseHeaders, setResponseHeader } from '../response-headers/index.ts';

/** Route groups with their own limit. `ops-write` is lower: each action may touch many records. */
export type RateLimitGroup = 'read' | 'write' | 'ops-read' | 'ops-write';

export interface RateLimitOptions {
  redis: Redis;
  /** Redis key prefix (one hash tag with the gateway's other keys), e.g. `{lgw}:rl` */
  keyPrefix: string;
  /** requests per window per client and group; 0 or absent = no limit for that group */
  limits: Partial<Record<RateLimitGroup, number>>;
  /** window length in seconds; default 60 */
  windowSeconds?: number;
  /** how long a leased block of points may be used before what is left goes back to Redis (ms); default 100 */
  leaseMs?: number;
  /** clients (subjects) tracked per group in this process; the least recently renewed is dropped first; default 10,000 */
  maxLeases?: number;
  /** told when Redis failed and the request was counted in this process's memory instead */
  onError?: (err: unknown) => void;
  /** told on every refusal (metrics: the group only; the subject is for the log) */
  onLimited?: (group: RateLimitGroup, subject: string) => void;
}

/** The group of a request: `/ops/*` or the API, reads (GET/HEAD) or writes. */
export function groupOf(method: string, path: string): RateLimitGroup {
  const read = method === 'GET' || method === 'HEAD';
  if (path === '/ops' || path.startsWith('/ops/')) return read ? 'ops-read' : 'ops-write';
  return read ? 'read' : 'write';
}

/** ioredis states in which a command would only wait for a reconnect. */
const DOWN: ReadonlySet<string> = new Set(['reconnecting', 'close', 'end']);

/** The request rate of a client is estimated over this span (ms). */
const RATE_MS = 100;
/**
 * Requests of one client in one process within `RATE_MS` from which leases of more than one
 * point are asked for (200/s): below it a Redis call per request costs little, and small limits
 * stay exact (the two-process acceptance test sends 6 requests at once to each instance).
 */
const LEASE_FROM = 20;
/** The most points one lease asks for. */
const MAX_LEASE = 1000;

/**
 * KEYS[1] the window's hash (`n` = points granted in the window, `w` = the window's id);
 * ARGV: limit, window ms, wanted, unused points to give back, the window they belong to, the id
 * for a new window. Returns { granted, count after the grant, PTTL, window id }.
 */
const LEASE_SCRIPT = `
local limit = tonumber(ARGV[1])
local wanted = tonumber(ARGV[3])
local giveBack = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'n', 'w')
local count = tonumber(state[1])
local window = state[2]
if count == nil or not window then
  count = 0
  window = ARGV[6]
  redis.call('HSET', KEYS[1], 'n', 0, 'w', window)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
elseif giveBack > 0 and window == ARGV[5] then
  count = redis.call('HINCRBY', KEYS[1], 'n', -math.min(giveBack, count))
end
local granted = 0
local left = limit - count
if left > 0 then
  granted = math.min(wanted, math.max(1, math.floor(left / 4)))
  count = redis.call('HINCRBY', KEYS[1], 'n', granted)
end
return { granted, count, redis.call('PTTL', KEYS[1]), window }
`;

const LEASE_COMMAND = 'lgwRateLimitLease';

type LeaseReply = [granted: number, count: number, pttl: number, window: string];
type LeaseClient = Redis & {
  [LEASE_COMMAND](key: string, limit: number, windowMs: number, wanted: number, giveBack: number, giveBackWindow: string, newWindow: string): Promise<LeaseReply>;
};

/** What this process holds for one (group, subject). Times are `performance.now()` ms. */
interface Lease {
  /** unused points of the current lease */
  points: number;
  /** the Redis window the lease belongs to ('' = none yet) */
  window: string;
  /** when that window ends (reckoned from when the script was sent: never later than Redis's) */
  windowEnd: number;
  /** the lease is not used after this */
  deadline: number;
  /** points granted in the window (Redis count) at the last grant */
  count: number;
  /** refused from memory until then */
  blockedUntil: number;
  /** the script call in flight for this client, if any */
  pending: Promise<void> | undefined;
  /** requests waiting for `pending` */
  waiting: number;
  /** requests in the current and the previous `RATE_MS` bucket */
  bucketStart: number;
  current: number;
  previous: number;
}

interface GroupLimiter {
  group: RateLimitGroup;
  points: number;
  keyPrefix: string;
  policy: string;
  leases: Map<string, Lease>;
  local: RateLimiterMemory;
}

interface Verdict {
  allowed: boolean;
  remaining: number;
  msBeforeNext: number;
}

/** Counts one request in the client's rate buckets. */
function countRequest(lease: Lease, now: number): void {
  const elapsed = now - lease.bucketStart;
  if (elapsed >= RATE_MS) {
    const buckets = Math.floor(elapsed / RATE_MS);
    lease.previous = buckets === 1 ? lease.current : 0;
    lease.current = 0;
    lease.bucketStart += buckets * RATE_MS;
  }
  lease.current++;
}

/** Requests of the client in the last `RATE_MS` (the previous bucket weighted by its overlap). */
function recentRequests(lease: Lease, now: number): number {
  const into = (now - lease.bucketStart) / RATE_MS;
  if (into >= 2) return 0;
  if (into >= 1) return lease.current * (2 - into);
  return lease.current + lease.previous * (1 - into);
}

/** Rate limit middleware; see the module comment. */
export function rateLimit(opts: RateLimitOptions): MiddlewareHandler<ApiEnv> {
  const window = opts.windowSeconds ?? 60;
  const windowMs = Math.round(window * 1000);
  const leaseMs = opts.leaseMs ?? 100;
  const maxLeases = opts.maxLeases ?? 10_000;
  opts.redis.defineCommand(LEASE_COMMAND, { numberOfKeys: 1, lua: LEASE_SCRIPT });
  const redis = opts.redis as LeaseClient;
  // ids for the windows this process starts: unique across processes and calls
  const instance = randomBytes(6).toString('base64url');
  let started = 0;

  const limiters = new Map<RateLimitGroup, GroupLimiter>();
  for (const [group, points] of Object.entries(opts.limits) as [RateLimitGroup, number | undefined][]) {
    if (!points || points <= 0) continue;
    limiters.set(group, {
      group,
      points,
      keyPrefix: `${opts.keyPrefix}:lease:${group}:`,
      policy: `"${group}";q=${points};w=${window}`,
      leases: new Map(),
      local: new RateLimiterMemory({ keyPrefix: group, points, duration: window }),
    });
  }

  function leaseOf(g: GroupLimiter, subject: string, now: number): Lease {
    let lease = g.leases.get(subject);
    if (lease) return lease;
    if (g.leases.size >= maxLeases) {
      const oldest = g.leases.keys().next();
      if (!oldest.done) g.leases.delete(oldest.value);
    }
    lease = { points: 0, window: '', windowEnd: 0, deadline: 0, count: 0, blockedUntil: 0, pending: undefined, waiting: 0, bucketStart: now, current: 0, previous: 0 };
    g.leases.set(subject, lease);
    return lease;
  }

  /** One script call: gives back the lease's unused points and takes a new lease. */
  async function renew(g: GroupLimiter, subject: string, lease: Lease, now: number): Promise<void> {
    // Known to be down: do not queue the command behind the reconnect (the request would wait
    // for the command timeout). Still connecting at start-up is not down: that one waits.
    if (DOWN.has(opts.redis.status)) throw new Error(`Redis connection is ${opts.redis.status}`);
    const recent = recentRequests(lease, now);
    const byRate = recent >= LEASE_FROM ? Math.ceil((recent * leaseMs) / RATE_MS) : 1;
    const wanted = Math.min(MAX_LEASE, Math.max(byRate, 1 + lease.waiting));
    const giveBack = lease.points;
    // given back (or, if the call fails, lost on the safe side): no longer usable here
    lease.points = 0;
    if (g.leases.get(subject) === lease) {
      // least recently renewed first in the map: that is the one dropped when it is full
      g.leases.delete(subject);
      g.leases.set(subject, lease);
    }
    const [granted, count, pttl, windowId] = await redis[LEASE_COMMAND](
      g.keyPrefix + subject,
      g.points,
      windowMs,
      wanted,
      giveBack,
      lease.window,
      `${instance}.${++started}`,
    );
    lease.window = windowId;
    lease.count = count;
    lease.points = granted;
    lease.windowEnd = now + (pttl >= 0 ? pttl : windowMs);
    lease.deadline = performance.now() + leaseMs;
    if (granted === 0) lease.blockedUntil = lease.windowEnd;
  }

  /** The verdict the client's lease gives without Redis, or undefined when it must be renewed first. */
  function fromLease(g: GroupLimiter, lease: Lease, now: number): Verdict | undefined {
    if (now < lease.blockedUntil) return { allowed: false, remaining: 0, msBeforeNext: lease.blockedUntil - now };
    if (lease.points > 0 && now < lease.deadline && now < lease.windowEnd) {
      lease.points--;
      // the last point of a window that was full at the grant: Redis would refuse the next one
      if (lease.points === 0 && lease.count >= g.points) lease.blockedUntil = lease.windowEnd;
      return { allowed: true, remaining: Math.max(0, g.points - lease.count + lease.points), msBeforeNext: lease.windowEnd - now };
    }
    return undefined;
  }

  /**
   * Takes one point of the client's lease, renewing it through Redis when it cannot serve. Not
   * `async`: a request its lease serves (nearly all of a busy client's) gets its verdict without
   * an async function's promise and frame (issue 8: fewer bytes allocated per request).
   */
  function take(g: GroupLimiter, subject: string): Verdict | Promise<Verdict> {
    const now = performance.now();
    const lease = leaseOf(g, subject, now);
    countRequest(lease, now);
    return fromLease(g, lease, now) ?? takeAfterRenewal(g, subject, lease, now);
  }

  /** {@link take} when the lease cannot serve: waits for the script call in flight, or sends one. */
  async function takeAfterRenewal(g: GroupLimiter, subject: string, lease: Lease, now: number): Promise<Verdict> {
    for (;;) {
      if (lease.pending) {
        lease.waiting++;
        try {
          await lease.pending;
        } finally {
          lease.waiting--;
        }
      } else {
        const call = renew(g, subject, lease, now);
        lease.pending = call;
        try {
          await call;
        } finally {
          if (lease.pending === call) lease.pending = undefined;
        }
      }
      now = performance.now();
      const verdict = fromLease(g, lease, now);
      if (verdict) return verdict;
    }
  }

  /** Counts the request in this process's memory (Redis failed). */
  async function takeLocally(g: GroupLimiter, subject: string): Promise<Verdict> {
    try {
      const res = await g.local.consume(subject, 1);
      return { allowed: true, remaining: Math.max(0, res.remainingPoints), msBeforeNext: res.msBeforeNext };
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      return { allowed: false, remaining: 0, msBeforeNext: err.msBeforeNext };
    }
  }

  return async function rateLimitMiddleware(c, next) {
    if (c.req.method === 'OPTIONS') return next();
    const group = groupOf(c.req.method, c.req.path);
    const limiter = limiters.get(group);
    const principal = c.get('principal') as ApiEnv['Variables']['principal'] | undefined;
    if (!limiter || !principal) return next();
    let verdict: Verdict;
    try {
      const taken = take(limiter, principal.subject);
      verdict = taken instanceof Promise ? await taken : taken;
    } catch (err) {
      opts.onError?.(err);
      verdict = await takeLocally(limiter, principal.subject);
    }
    const rateLimitValue = `"${group}";r=${verdict.remaining};t=${Math.ceil(verdict.msBeforeNext / 1000)}`;
    if (!verdict.allowed) {
      opts.onLimited?.(group, principal.subject);
      const retryAfter = Math.max(1, Math.ceil(verdict.msBeforeNext / 1000));
      return problemResponse(
        c,
        problem('request.rate_limited', {
          headers: { 'RateLimit-Policy': limiter.policy, RateLimit: rateLimitValue, 'Retry-After': String(retryAfter) },
        }),
      );
    }
    // added before next(): they reach the answer with the other headers (middleware/response-headers)
    const owner = beginResponseHeaders(c);
    setResponseHeader(c, 'RateLimit-Policy', limiter.policy);
    setResponseHeader(c, 'RateLimit', rateLimitValue);
    await next();
    if (owner) finishResponseHeaders(c);
  };
}
