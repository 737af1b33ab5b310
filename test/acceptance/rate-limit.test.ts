/**
 * Acceptance (issue 7): inbound rate limits are one limit per client and route group across
 * every gateway instance, not one per instance.
 *
 * Two real gateways (`src/main.ts` in two CHILD processes, connected mode) on the private test
 * Redis, both with `RATE_LIMIT_READS=10` per minute. One client sends 6 reads to each at once:
 * exactly 10 pass and 2 get `429` problems with `Retry-After` and the IETF `RateLimit-Policy` /
 * `RateLimit` headers; the refusals show in `lgw_rate_limited_total{group="read"}` of the
 * instances that refused them. Another client still has its own budget.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectedSetup, flushDb, redisOnDb, startGatewayOnFreePorts, startLegacy, type ChildProcessHandle, type ConnectedSetup, type Legacy, REDIS_DBS } from './support.ts';

const REDIS_DB = REDIS_DBS.rateLimit;
const LIMIT = 10;

let legacy: Legacy | undefined;
let setup: ConnectedSetup | undefined;
const children: ChildProcessHandle[] = [];
const gateways: { base: string; metrics: string }[] = [];

async function startGatewayChild(label: string): Promise<{ base: string; metrics: string }> {
  if (!setup) throw new Error('set-up failed');
  const { ports } = await startGatewayOnFreePorts(setup.env, label, { portVars: ['PORT', 'METRICS_PORT'], onSpawn: (c) => children.push(c) });
  return { base: `http://127.0.0.1:${ports.PORT}`, metrics: `http://127.0.0.1:${ports.METRICS_PORT}/metrics` };
}

async function rejectedReads(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const line = text.split('\n').find((l) => l.startsWith('lgw_rate_limited_total{group="read"}'));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

beforeAll(async () => {
  const redisUrl = redisOnDb(inject('redisUrl'), REDIS_DB);
  await flushDb(redisUrl);
  legacy = await startLegacy();
  setup = await connectedSetup(legacy, redisUrl, {
    LOG_LEVEL: 'info',
    // a prefix of its own: nothing else in this database shares the counters
    REDIS_KEY_PREFIX: `rl${randomBytes(3).toString('hex')}`,
    RATE_LIMIT_READS: String(LIMIT),
    RATE_LIMIT_WINDOW_SECONDS: '60',
  });
  gateways.push(...(await Promise.all([startGatewayChild('rate-limit-a'), startGatewayChild('rate-limit-b')])));
}, 120_000);

afterAll(async () => {
  for (const c of children) await c.kill().catch(() => undefined);
  await legacy?.close();
  setup?.cleanup();
});

describe('acceptance: rate limits shared by two gateway processes on one Redis', () => {
  it(
    'when one client sends 6 reads to each of two gateways at once with a limit of 10 per minute, then exactly 10 pass and 2 get 429 with Retry-After and RateLimit headers',
    async () => {
      if (!setup) throw new Error('set-up failed');
      const token = await setup.keys.signToken(['merchants:read'], { subject: 'client-rate-limit' });
      const read = (base: string, t = token) => fetch(`${base}/v1/merchants/C000000001`, { headers: { Authorization: `Bearer ${t}` } });
      const answers = await Promise.all(gateways.flatMap((g) => Array.from({ length: 6 }, () => read(g.base))));

      const limited = answers.filter((r) => r.status === 429);
      const passed = answers.filter((r) => r.status !== 429);
      expect(passed).toHaveLength(LIMIT);
      expect(limited).toHaveLength(2);
      for (const res of passed) expect(res.headers.get('RateLimit-Policy')).toBe(`"read";q=${LIMIT};w=60`);
      const remaining = passed.map((r) => Number(/;r=(\d+);/.exec(r.headers.get('RateLimit') ?? '')?.[1])).sort((a, b) => a - b);
      expect(remaining).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]); // one counter: every pass saw a different count
      for (const res of limited) {
        expect(res.headers.get('content-type')).toContain('application/problem+json');
        const retryAfter = Number(res.headers.get('Retry-After'));
        expect(retryAfter).toBeGreaterThan(0);
        expect(retryAfter).toBeLessThanOrEqual(60);
        expect(res.headers.get('RateLimit-Policy')).toBe(`"read";q=${LIMIT};w=60`);
        expect(res.headers.get('RateLimit')).toMatch(/^"read";r=0;t=\d+$/);
        expect(((await res.json()) as { code: string; status: number })).toMatchObject({ code: 'request.rate_limited', status: 429 });
      }
      const counted = await Promise.all(gateways.map((g) => rejectedReads(g.metrics)));
      expect(counted[0]! + counted[1]!).toBe(2);

      // the limit is per client: another subject still reads
      const other = await setup.keys.signToken(['merchants:read'], { subject: 'client-rate-limit-other' });
      expect((await read(gateways[0]!.base, other)).status).not.toBe(429);
    },
    60_000,
  );
});
