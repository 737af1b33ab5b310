import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { requestId } from './index.ts';

function app(opts: Parameters<typeof requestId>[0] = {}) {
  const a = new Hono<{ Variables: { requestId: string } }>();
  a.use('*', requestId(opts));
  a.get('/json', (c) => c.json({ id: c.get('requestId') }));
  a.get('/raw', () => new Response('raw', { status: 418 }));
  a.get('/boom', () => {
    throw new Error('x');
  });
  a.onError(() => new Response('err', { status: 500 }));
  return a;
}

describe('requestId', () => {
  it('when the caller sends a safe id, then it is kept and echoed', async () => {
    const res = await app().request('/json', { headers: { 'X-Request-Id': 'req-1.A_b' } });
    expect(res.headers.get('x-request-id')).toBe('req-1.A_b');
    expect(await res.json()).toEqual({ id: 'req-1.A_b' });
  });

  it('when the caller sends an unsafe id, then a generated one replaces it', async () => {
    const res = await app({ generate: () => 'gen-1' }).request('/json', { headers: { 'X-Request-Id': '<script>' } });
    expect(res.headers.get('x-request-id')).toBe('gen-1');
  });

  it.each([
    ['a dotted id', 'req.1-A_b', 'req.1-A_b'],
    ['an id with =', 'abc=', 'abc='],
    ['128 characters', 'a'.repeat(128), 'a'.repeat(128)],
    ['129 characters', 'a'.repeat(129), 'gen-3'],
    ['a space', 'a b', 'gen-3'],
    ['a slash', 'a/b', 'gen-3'],
    ['a newline escape attempt', 'a%0d%0ab', 'gen-3'],
  ])('when the caller sends %s, then the id is %s', async (_what, sent, kept) => {
    const res = await app({ generate: () => 'gen-3' }).request('/json', { headers: { 'X-Request-Id': sent } });
    expect(res.headers.get('x-request-id')).toBe(kept);
    expect(await res.json()).toEqual({ id: kept });
  });

  it('when a handler returns a raw Response or throws, then the header is still set', async () => {
    const a = app({ generate: () => 'gen-2' });
    expect((await a.request('/raw')).headers.get('x-request-id')).toBe('gen-2');
    expect((await a.request('/boom')).headers.get('x-request-id')).toBe('gen-2');
  });

  it('when a custom header name is configured, then it is used', async () => {
    const res = await app({ headerName: 'X-Correlation-Id' }).request('/json', { headers: { 'X-Correlation-Id': 'c-1' } });
    expect(res.headers.get('x-correlation-id')).toBe('c-1');
  });
});
