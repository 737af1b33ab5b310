import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { memoryLogger } from '../../test-support/harness.ts';
import { accessLog } from './index.ts';

describe('accessLog', () => {
  it('when a request completes, then one line with method, path (no query), status, duration and request id', async () => {
    const { logger, logs } = memoryLogger();
    let t = 100;
    const app = new Hono<{ Variables: { requestId: string; logger: typeof logger } }>();
    app.use('*', async (c, next) => {
      c.set('requestId', 'r-1');
      await next();
    });
    app.use('*', accessLog({ logger, now: () => (t += 12.34) }));
    app.get('/x', (c) => {
      c.get('logger').info('inside');
      return c.text('ok', 202);
    });
    await app.request('/x?cursor=secret-cursor', { headers: { Authorization: 'Bearer tok-123' } });
    const lines = logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.msg === 'inside')).toMatchObject({ requestId: 'r-1' });
    const access = lines.filter((l) => l.msg === 'request');
    expect(access).toEqual([expect.objectContaining({ method: 'GET', path: '/x', status: 202, durationMs: 12.3, requestId: 'r-1', level: 30 })]);
    expect(logs.join('')).not.toContain('tok-123');
    expect(logs.join('')).not.toContain('secret-cursor');
  });

  it('when the response is a 5xx, then the line is logged at error level', async () => {
    const { logger, logs } = memoryLogger();
    const app = new Hono<{ Variables: { requestId: string; logger: typeof logger } }>();
    app.use('*', async (c, next) => {
      c.set('requestId', 'r-2');
      await next();
    });
    app.use('*', accessLog({ logger }));
    app.get('/x', (c) => c.text('no', 503));
    await app.request('/x');
    expect(JSON.parse(logs[0]!)).toMatchObject({ level: 50, status: 503 });
  });
});
