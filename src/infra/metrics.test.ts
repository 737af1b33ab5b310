import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.ts';

describe('createMetrics().http', () => {
  it('when one route is called several times with different statuses, then each (method, route, status) series counts its own requests', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const app = new Hono();
    app.use(metrics.http);
    app.get('/v1/terminals/:id', (c) => (c.req.param('id') === 'missing' ? c.json({}, 404) : c.json({}, 200)));
    for (const id of ['T1', 'T2', 'T3', 'missing']) await app.request(`/v1/terminals/${id}`);
    await app.request('/nowhere');
    const text = await metrics.render();
    expect(text).toContain('lgw_http_request_duration_seconds_count{method="GET",route="/v1/terminals/:id",status="200"} 3');
    expect(text).toContain('lgw_http_request_duration_seconds_count{method="GET",route="/v1/terminals/:id",status="404"} 1');
    expect(text).toContain('lgw_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"} 1');
    // never the concrete path
    expect(text).not.toContain('T1');
  });

  it('when methods, routes and statuses are interleaved, then every series counts only its own requests', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const app = new Hono();
    app.use(metrics.http);
    app.get('/a/:id', (c) => c.json({}, c.req.param('id') === 'x' ? 404 : 200));
    app.post('/a/:id', (c) => c.json({}, 201));
    app.get('/b', (c) => c.json({}, 200));
    const calls: Array<[string, string]> = [
      ['GET', '/a/1'], ['POST', '/a/1'], ['GET', '/b'], ['GET', '/a/x'], ['GET', '/a/2'], ['POST', '/a/2'], ['GET', '/b'], ['GET', '/a/3'], ['DELETE', '/b'],
    ];
    for (const [method, path] of calls) await app.request(path, { method });
    const text = await metrics.render();
    const count = (labels: string) => text.match(new RegExp(`^lgw_http_request_duration_seconds_count\\{${labels}\\} (\\d+)$`, 'm'))?.[1];
    expect(count('method="GET",route="/a/:id",status="200"')).toBe('3');
    expect(count('method="GET",route="/a/:id",status="404"')).toBe('1');
    expect(count('method="POST",route="/a/:id",status="201"')).toBe('2');
    expect(count('method="GET",route="/b",status="200"')).toBe('2');
    expect(count('method="DELETE",route="unmatched",status="404"')).toBe('1');
    expect(text.match(/^lgw_http_request_duration_seconds_count/gm)).toHaveLength(5);
  });
});

describe('metrics', () => {
  it('when job attempts fail and keys are reused, then the counters say so by system, outcome and kind only', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.jobAttemptFailed('tmo', false);
    m.jobAttemptFailed('tmo', false);
    m.jobAttemptFailed('crm', true);
    m.idempotencyOutcome('replayed');
    m.idempotencyOutcome('reused');
    const text = await m.render();
    expect(text).toContain('lgw_job_attempts_failed_total{system="tmo",outcome="retry"} 2');
    expect(text).toContain('lgw_job_attempts_failed_total{system="crm",outcome="final"} 1');
    expect(text).toContain('lgw_idempotency_requests_total{outcome="replayed"} 1');
    expect(text).toContain('lgw_idempotency_requests_total{outcome="reused"} 1');
  });

  it('when Redis does not answer or counting dead letters fails, then the scrape still succeeds', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.watchRedis(() => Promise.reject(new Error('down')));
    m.watchDeadLetters(() => Promise.reject(new Error('down')));
    const text = await m.render();
    expect(text).toMatch(/^lgw_redis_up 0$/m);
  });
});
