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
});
