import { describe, expect, it } from 'vitest';
import { createHarness } from '../test-support/harness.ts';
import { publicChecks } from './health.ts';

describe('health', () => {
  it('when the process runs, then /health/live is 200 without authentication', async () => {
    const h = createHarness();
    const res = await h.app.request('/health/live');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('when dependencies are ready, then /health/ready is 200 with the checks', async () => {
    const h = createHarness({ health: { ready: async () => ({ ok: true, checks: { redis: 'ok', breakers: { tmo: 'closed', crm: 'closed' } } }) } });
    const res = await h.app.request('/health/ready');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', checks: { redis: 'ok', breakers: { tmo: 'closed', crm: 'closed' } } });
  });

  it('when a dependency is down, then 503 and nothing sensitive', async () => {
    const h = createHarness({
      health: { ready: async () => ({ ok: false, checks: { redis: { ok: false, url: 'redis://:pw@10.0.0.1:6379', error: new Error('ECONNREFUSED') }, tmo: 'open' } }) },
    });
    const res = await h.app.request('/health/ready');
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ status: 'unavailable', checks: { redis: { ok: false }, tmo: 'open' } });
    expect(text).not.toContain('pw@');
  });

  it('when the readiness check throws, then 503 with empty checks and the error only logged', async () => {
    const h = createHarness({ health: { ready: () => Promise.reject(new Error('redis auth failed: secret-pw')) } });
    const res = await h.app.request('/health/ready');
    expect(res.status).toBe(503);
    expect(await res.text()).not.toContain('secret-pw');
  });

  it('when values are deeply nested or huge, then they are trimmed', () => {
    expect(publicChecks({ a: { b: { c: { d: { e: 1 } } } } })).toEqual({ a: { b: { c: {} } } });
    expect((publicChecks('x'.repeat(500)) as string).length).toBeLessThan(210);
  });
});
