/**
 * Inbound rate limits per client (token subject) and route group, shared by every gateway
 * instance through Redis (rate-limiter-flexible's atomic Redis limiter): two instances behind a
 * load balancer hold one limit, not two. Over the limit: 429 `request.rate_limited` with
 * `Retry-After`; every limited answer carries the IETF `RateLimit-Policy` and `RateLimit`
 * headers (draft-ietf-httpapi-ratelimit-headers). A Redis failure lets the request through (the
 * limit protects the legacy systems; it must not turn a Redis hiccup into an outage).
 *
 * Mount it after `authenticate` (it reads `c.var.principal`).
 */
import type { MiddlewareHandler } from 'hono';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { ApiEnv } from '../../env.ts';
import { problem, problemResponse } from '../../problem.ts';

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
  /** told when Redis failed and the request went through unlimited */
  onError?: (err: unknown) => void;
  /** told on every refusal (metrics) */
  onLimited?: (group: RateLimitGroup) => void;
}

/** The group of a request: `/ops/*` or the API, reads (GET/HEAD) or writes. */
export function groupOf(method: string, path: string): RateLimitGroup {
  const read = method === 'GET' || method === 'HEAD';
  if (path === '/ops' || path.startsWith('/ops/')) return read ? 'ops-read' : 'ops-write';
  return read ? 'read' : 'write';
}

/** Rate limit middleware; see the module comment. */
export function rateLimit(opts: RateLimitOptions): MiddlewareHandler<ApiEnv> {
  const window = opts.windowSeconds ?? 60;
  const limiters = new Map<RateLimitGroup, RateLimiterRedis>();
  for (const [group, points] of Object.entries(opts.limits) as [RateLimitGroup, number | undefined][]) {
    if (!points || points <= 0) continue;
    limiters.set(group, new RateLimiterRedis({ storeClient: opts.redis, keyPrefix: `${opts.keyPrefix}:${group}`, points, duration: window }));
  }

  return async function rateLimitMiddleware(c, next) {
    if (c.req.method === 'OPTIONS') return next();
    const group = groupOf(c.req.method, c.req.path);
    const limiter = limiters.get(group);
    const principal = c.get('principal') as ApiEnv['Variables']['principal'] | undefined;
    if (!limiter || !principal) return next();
    const policy = `"${group}";q=${limiter.points};w=${window}`;
    const headers = (res: RateLimiterRes) => ({
      'RateLimit-Policy': policy,
      RateLimit: `"${group}";r=${Math.max(0, res.remainingPoints)};t=${Math.ceil(res.msBeforeNext / 1000)}`,
    });
    let res: RateLimiterRes;
    try {
      res = await limiter.consume(principal.subject, 1);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) {
        opts.onError?.(err);
        return next();
      }
      opts.onLimited?.(group);
      const retryAfter = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
      return problemResponse(
        c,
        problem('request.rate_limited', { headers: { ...headers(err), 'Retry-After': String(retryAfter) } }),
      );
    }
    await next();
    for (const [k, v] of Object.entries(headers(res))) c.res.headers.set(k, v);
  };
}
