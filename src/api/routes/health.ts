import { createRoute } from '@hono/zod-openapi';
import type { Logger } from 'pino';
import { Liveness, Readiness } from '../schemas/resources.ts';
import { routeGroup } from './shared.ts';

export interface HealthCheck {
  /** Redis reachable, breaker states, …: `ok` false answers 503 */
  ready(): Promise<{ ok: boolean; checks: Record<string, unknown> }>;
}

const READY_TIMEOUT_MS = 2000;
/** Keys whose values are never shown on an unauthenticated endpoint. */
const SENSITIVE_KEY = /pass|secret|token|credential|auth|url|uri|dsn|host|key/i;

/** Readiness details without anything sensitive: plain data only, sensitive-looking keys dropped. */
export function publicChecks(value: unknown, depth = 0): unknown {
  if (value === null || typeof value === 'boolean' || typeof value === 'number') return value;
  if (typeof value === 'string') return value.length > 200 ? `${value.slice(0, 200)}…` : value;
  if (depth >= 4 || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => publicChecks(v, depth + 1));
  if (value instanceof Error) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (SENSITIVE_KEY.test(k)) continue;
    const safe = publicChecks(v, depth + 1);
    if (safe !== undefined) out[k] = safe;
  }
  return out;
}

/** `/health/live` and `/health/ready`: no authentication, never cached. */
export function healthRoutes(health: HealthCheck, logger: Logger) {
  const app = routeGroup();

  const live = createRoute({
    method: 'get',
    path: '/live',
    tags: ['Health'],
    operationId: 'liveness',
    summary: 'Liveness: 200 while the process runs',
    security: [],
    responses: { 200: { description: 'Alive', content: { 'application/json': { schema: Liveness } } } },
  });
  app.openapi(live, (c) => {
    c.header('Cache-Control', 'no-store');
    return c.json({ status: 'ok' as const }, 200);
  });

  const ready = createRoute({
    method: 'get',
    path: '/ready',
    tags: ['Health'],
    operationId: 'readiness',
    summary: 'Readiness: 200 when dependencies are usable, 503 otherwise',
    security: [],
    responses: {
      200: { description: 'Ready', content: { 'application/json': { schema: Readiness } } },
      503: { description: 'Not ready', content: { 'application/json': { schema: Readiness } } },
    },
  });
  app.openapi(ready, async (c) => {
    c.header('Cache-Control', 'no-store');
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        health.ready(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('readiness check timed out')), READY_TIMEOUT_MS);
        }),
      ]);
      const checks = (publicChecks(result.checks) ?? {}) as Record<string, unknown>;
      return result.ok ? c.json({ status: 'ok' as const, checks }, 200) : c.json({ status: 'unavailable' as const, checks }, 503);
    } catch (err) {
      logger.error({ err }, 'readiness check failed');
      return c.json({ status: 'unavailable' as const, checks: {} }, 503);
    } finally {
      clearTimeout(timer);
    }
  });

  return app;
}
