import { describe, expect, it } from 'vitest';
import { isListening, startPrivateRedis, RedisBinaryMissingError } from './redis-server.ts';

describe('startPrivateRedis', () => {
  it('when started, then it listens on a private port and stops cleanly twice', async () => {
    const r = await startPrivateRedis();
    expect(r.port).not.toBe(6379);
    expect(await isListening('127.0.0.1', r.port)).toBe(true);
    await r.stop();
    await r.stop();
    expect(await isListening('127.0.0.1', r.port)).toBe(false);
  });

  it('when the binary is missing, then the error says what to do', async () => {
    await expect(startPrivateRedis({ binary: 'no-such-redis-server-binary' })).rejects.toBeInstanceOf(RedisBinaryMissingError);
    await expect(startPrivateRedis({ binary: 'no-such-redis-server-binary' })).rejects.toThrow(/REDIS_URL/);
  });
});
