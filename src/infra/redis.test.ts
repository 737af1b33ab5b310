import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createCapturedLogger } from '../../test/support/log-capture.ts';
import { createRedisConnection, pingRedis, RedisBinaryMissingError, resolveRedis } from './redis.ts';
import { freePort, startPrivateRedis, type PrivateRedis } from './redis-server.ts';

const logger = createCapturedLogger({ name: 'redis.test' });
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function fakePrivate(url = 'redis://127.0.0.1:1'): { start: () => Promise<PrivateRedis>; calls: () => number } {
  let calls = 0;
  return {
    calls: () => calls,
    start: () => {
      calls++;
      return Promise.resolve({ url, port: 1, stop: () => Promise.resolve() });
    },
  };
}

describe('resolveRedis', () => {
  it('when REDIS_URL is set, then it is used as is and nothing is probed or started', async () => {
    const fake = fakePrivate();
    const r = await resolveRedis({ redisUrl: 'redis://redis.internal:6380/1' }, logger, { startPrivate: fake.start, localUrl: 'redis://127.0.0.1:1' });
    expect(r).toMatchObject({ url: 'redis://redis.internal:6380/1', source: 'env' });
    expect(fake.calls()).toBe(0);
    await r.stop();
  });

  it('when REDIS_URL is unset and a Redis answers on the local address, then that Redis is used', async () => {
    const localUrl = inject('redisUrl');
    const fake = fakePrivate();
    const r = await resolveRedis({ redisUrl: undefined }, logger, { localUrl, startPrivate: fake.start });
    expect(r).toMatchObject({ url: localUrl, source: 'local' });
    expect(fake.calls()).toBe(0);
  });

  it('when nothing answers locally, then a private redis-server is started and stop() ends it', async () => {
    const localUrl = `redis://127.0.0.1:${await freePort()}`;
    const r = await resolveRedis({ redisUrl: undefined }, logger, { localUrl });
    cleanups.push(() => r.stop());
    expect(r.source).toBe('private');
    expect(r.url).not.toBe(localUrl);
    const client = createRedisConnection(r.url);
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
    const port = Number(new URL(r.url).port);
    await r.stop();
    await r.stop();
    expect(await pingRedis('127.0.0.1', port)).toBe('refused');
  });

  it('when something that is not Redis answers locally, then a private redis-server is started instead', async () => {
    const sockets = new Set<Socket>();
    const server: Server = createServer((sock) => {
      sockets.add(sock);
      sock.on('error', () => undefined);
      sock.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise((resolve) => {
          for (const s of sockets) s.destroy();
          server.close(() => resolve());
        }),
    );
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const fake = fakePrivate('redis://127.0.0.1:7');
    const r = await resolveRedis({ redisUrl: undefined }, logger, { localUrl: `redis://127.0.0.1:${port}`, startPrivate: fake.start });
    expect(r).toMatchObject({ source: 'private', url: 'redis://127.0.0.1:7' });
  });

  it('when the redis-server binary is missing, then the error says to install Redis or set REDIS_URL', async () => {
    const localUrl = `redis://127.0.0.1:${await freePort()}`;
    const attempt = resolveRedis({ redisUrl: undefined }, logger, {
      localUrl,
      startPrivate: () => startPrivateRedis({ binary: 'no-such-redis-server-binary' }),
    });
    await expect(attempt).rejects.toBeInstanceOf(RedisBinaryMissingError);
    await expect(attempt).rejects.toThrow(/apt-get install redis-server.*REDIS_URL=redis:\/\//s);
  });
});

describe('createRedisConnection', () => {
  it('when created, then BullMQ’s maxRetriesPerRequest: null holds even if the caller asks otherwise', async () => {
    const client = createRedisConnection(inject('redisUrl'), { maxRetriesPerRequest: 3, connectionName: 'lgw-test' });
    try {
      expect(client.options.maxRetriesPerRequest).toBeNull();
      expect(client.options.connectionName).toBe('lgw-test');
      expect(await client.ping()).toBe('PONG');
    } finally {
      await client.quit();
    }
  });
});
