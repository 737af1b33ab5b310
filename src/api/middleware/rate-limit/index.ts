/**
 * Inbound rate limits per client (token subject) and route group, shared by every gateway
 * instance through Redis (rate-limiter-flexible's atomic Redis limiter): two instances behind a
 * load balancer hold one limit, not two. Over the limit: 429 `request.rate_limited` with
 * `Retry-After`; every limited answer carries the IETF `RateLimit-Policy` and `RateLimit`
 * headers (draft-ietf-httpapi-ratelimit-headers). When Redis fails (or is not connected) the
 * request is counted in this process's memory instead, with the same limit (docs/DECISIONS.md):
 * each instance then holds the limit on its own, so a client gets at most the limit times the
 * number of instances, rather than no limit at all, and a Redis hiccup does not become an outage.
 *
 * Mount it after `authenticate` (it reads `c.var.principal`).
 */
import type { MiddlewareHandler } from 'hono';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
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

/** Rate limit middleware; see the module comment. */
export function rateLimit(opts: RateLimitOptions): MiddlewareHandler<ApiEnv> {
  const window = opts.windowSeconds ?? 60;
  const limiters = new Map<RateLimitGroup, { shared: RateLimiterRedis; local: RateLimiterMemory }>();
  for (const [group, points] of Object.entries(opts.limits) as [RateLimitGroup, number | undefined][]) {
    if (!points || points <= 0) continue;
    limiters.set(group, {
      // A client that used up its points is refused from this process's memory until the
      // window ends (rate-limiter-flexible's in-memory block, for the msBeforeNext Redis gave):
      // Redis would refuse it the same way, the window's count only grows. Over the limit, a
      // client costs no Redis round trip; under it, every request still counts in Redis.
      shared: new RateLimiterRedis({
        storeClient: opts.redis,
        keyPrefix: `${opts.keyPrefix}:${group}`,
        points,
        duration: window,
        inMemoryBlockOnConsumed: points,
      }),
      local: new RateLimiterMemory({ keyPrefix: group, points, duration: window }),
    });
  }

  /** Consumes one point: shared through Redis, else (Redis failed) in this process's memory. */
  async function consume(limiter: { shared: RateLimiterRedis; local: RateLimiterMemory }, subject: string): Promise<RateLimiterRes> {
    try {
      // Known to be down: do not queue the command behind the reconnect (the request would wait
      // for the command timeout). Still connecting at start-up is not down: that one waits.
      if (DOWN.has(opts.redis.status)) throw new Error(`Redis connection is ${opts.redis.status}`);
      return await limiter.shared.consume(subject, 1);
    } catch (err) {
      if (err instanceof RateLimiterRes) throw err;
      opts.onError?.(err);
      return limiter.local.consume(subject, 1);
    }
  }

  return async function rateLimitMiddleware(c, next) {
    if (c.req.method === 'OPTIONS') return next();
    const group = groupOf(c.req.method, c.req.path);
    const limiter = limiters.get(group);
    const principal = c.get('principal') as ApiEnv['Variables']['principal'] | undefined;
    if (!limiter || !principal) return next();
    const policy = `"${group}";q=${limiter.shared.points};w=${window}`;
    const rateLimitValue = (res: RateLimiterRes) =>
      `"${group}";r=${Math.max(0, res.remainingPoints)};t=${Math.ceil(res.msBeforeNext / 1000)}`;
    const headers = (res: RateLimiterRes) => ({ 'RateLimit-Policy': policy, RateLimit: rateLimitValue(res) });
    let res: RateLimiterRes;
    try {
      res = await consume(limiter, principal.subject);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      opts.onLimited?.(group, principal.subject);
      const retryAfter = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
      return problemResponse(
        c,
        problem('request.rate_limited', { headers: { ...headers(err), 'Retry-After': String(retryAfter) } }),
      );
    }
    // added before next(): they reach the answer with the other headers (middleware/response-headers)
    const owner = beginResponseHeaders(c);
    setResponseHeader(c, 'RateLimit-Policy', policy);
    setResponseHeader(c, 'RateLimit', rateLimitValue(res));
    await next();
    if (owner) finishResponseHeaders(c);
  };
}
