/**
 * `callContext`'s signal on @hono/node-server: "the client went away" without an AbortController
 * per request, aborting exactly when node-server's own `c.req.raw.signal` would.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CallSignal } from '../domain/call-context.ts';
import { callContext } from './context.ts';
import type { ApiEnv } from './env.ts';
import { createHarness, signToken } from './test-support/harness.ts';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** Serves one route that hands its call context's signal to `seen` and answers after `hold`. */
async function serveWith(seen: (signal: CallSignal, raw: Request) => void, hold: Promise<void>): Promise<string> {
  const app = new Hono<ApiEnv>();
  app.get('/x', async (c) => {
    c.set('requestId', 'r-1');
    const ctx = callContext(c);
    expect(ctx.requestId).toBe('r-1');
    if (!ctx.signal) throw new Error('no signal');
    seen(ctx.signal, c.req.raw);
    await hold;
    return c.text('done');
  });
  server = createServer(getRequestListener(app.fetch));
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
}

describe('callContext(c).signal on @hono/node-server', () => {
  it('when the client hangs up mid-call, then function and handleEvent listeners fire once, aborted and reason say so, and node-server made no AbortController', async () => {
    let signal: CallSignal | undefined;
    let raw: Request | undefined;
    let release = (): void => undefined;
    const url = await serveWith(
      (s, r) => {
        signal = s;
        raw = r;
      },
      new Promise<void>((r) => (release = r)),
    );
    const fired: string[] = [];
    const req = request(url);
    req.on('error', () => undefined);
    req.end();
    while (!signal) await new Promise((r) => setTimeout(r, 5));
    const s = signal;
    expect(s.aborted).toBe(false);
    expect(() => s.throwIfAborted()).not.toThrow();
    const removed = (): number => fired.push('removed');
    s.addEventListener('abort', () => fired.push('fn'), { once: true });
    s.addEventListener('abort', { handleEvent: (e) => fired.push(`obj:${e.type}`) }, { once: true });
    s.addEventListener('abort', removed);
    s.removeEventListener('abort', removed);
    // node-server keeps its AbortController for whoever reads `raw.signal`: none was made
    expect(Object.getOwnPropertySymbols(raw).map(String)).not.toContain('Symbol(abortControllerKey)');

    req.destroy();
    while (!s.aborted) await new Promise((r) => setTimeout(r, 5));
    expect(fired).toEqual(['fn', 'obj:abort']);
    expect(s.reason).toBe('Error: aborted');
    expect(() => s.throwIfAborted()).toThrow('aborted');
    // the same verdict as node-server's own signal, made only now
    expect(raw?.signal.aborted).toBe(true);
    expect(Object.getOwnPropertySymbols(raw).map(String)).toContain('Symbol(abortControllerKey)');
    // an aborted signal fires no more
    s.addEventListener('abort', () => fired.push('late'));
    release();
    await new Promise((r) => setTimeout(r, 20));
    expect(fired).toEqual(['fn', 'obj:abort']);
  });

  it('when the answer is sent in full, then the signal never aborts and no listener fires', async () => {
    let signal: CallSignal | undefined;
    let raw: Request | undefined;
    const fired: string[] = [];
    const url = await serveWith((s, r) => {
      signal = s;
      raw = r;
      s.addEventListener('abort', () => fired.push('fn'));
    }, Promise.resolve());
    const res = await fetch(url);
    expect(await res.text()).toBe('done');
    await new Promise((r) => setTimeout(r, 20));
    expect(signal?.aborted).toBe(false);
    expect(signal?.reason).toBeUndefined();
    expect(fired).toEqual([]);
    expect(raw?.signal.aborted).toBe(false);
  });

  it('when the app is called without node-server (app.request), then the Request’s own AbortSignal is used', async () => {
    const app = new Hono<ApiEnv>();
    let signal: unknown;
    app.get('/x', (c) => {
      c.set('requestId', 'r-2');
      signal = callContext(c).signal;
      return c.text('ok');
    });
    expect((await app.request('/x')).status).toBe(200);
    expect(signal).toBeInstanceOf(AbortSignal);
  });

  it('when a terminal is read through the whole app on node-server, then no AbortController is made', async () => {
    const h = createHarness();
    h.fake.seedTerminal(h.fake.seedMerchant(), { id: 'T0000001' });
    server = createServer(getRequestListener(h.app.fetch));
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/terminals/T0000001`;
    const token = await signToken(['terminals:read']);
    const made = vi.spyOn(globalThis, 'AbortController');
    try {
      const status = await new Promise<number>((resolve, reject) => {
        request(url, { headers: { Authorization: `Bearer ${token}` } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        })
          .on('error', reject)
          .end();
      });
      expect(status).toBe(200);
      expect(made).not.toHaveBeenCalled();
    } finally {
      made.mockRestore();
    }
  });
});
