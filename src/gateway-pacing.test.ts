import { createServer, connect, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from './config.ts';
import { FakeCrm, FakeTmo } from './domain/services/test-support/fake-ports.ts';
import { buildServices, createShutdown, type Legacy } from './gateway.ts';
import { startPrivateRedis, type PrivateRedis } from './infra/redis-server.ts';
import { runQueued } from './jobs/call-pacing.ts';

/** A TCP forwarder whose target can be switched: new connections go to the new target, open ones stay (as DNS after a failover). */
async function switchableProxy(port: number): Promise<{ url: string; target: { port: number }; close(): Promise<void> }> {
  const target = { port };
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = connect({ host: '127.0.0.1', port: target.port });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return {
    url: `redis://127.0.0.1:${address.port}`,
    target,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe('buildServices: the pacing Redis client', () => {
  it('when Redis fails over (the old primary becomes a replica, the address now leads to the new one), then paced calls go on after a reconnect', async () => {
    const primary: PrivateRedis = await startPrivateRedis();
    cleanups.push(() => primary.stop());
    const standby: PrivateRedis = await startPrivateRedis();
    cleanups.push(() => standby.stop());
    const proxy = await switchableProxy(primary.port);
    cleanups.push(() => proxy.close());

    const shutdown = createShutdown(pino({ level: 'silent' }));
    cleanups.push(() => shutdown.run());
    const tmo = new FakeTmo();
    const config = { tmo: { maxRatePerS: 1000 }, crm: { maxRatePerS: undefined } } as unknown as Config;
    const legacy = { tmo, crm: new FakeCrm() } as unknown as Legacy;
    const services = buildServices(config, legacy, { redis: { url: proxy.url, source: 'env', stop: () => Promise.resolve() }, prefix: 't' }, shutdown);
    const change = () =>
      runQueued(() => services.terminals.changeStatus('NOPE0001', 'suspended', 'merchant_request', { requestId: 'r' })).then(
        () => 'ok',
        (e: unknown) => String((e as { code?: unknown }).code),
      );
    // the pacer's slot granted, then the fake's own answer (no such terminal)
    expect(await change()).toBe('terminal.not_found');

    // failover: the address now leads to the standby, promoted; the old primary is demoted
    proxy.target.port = standby.port;
    const admin = new Redis(primary.url);
    cleanups.push(() => admin.quit());
    await admin.replicaof('127.0.0.1', standby.port);

    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) outcomes.push(await change());
    // READONLY from the demoted primary reconnects (through the address) and resends, as every other client of the gateway does
    expect(outcomes.at(-1)).toBe('terminal.not_found');
  });
});
