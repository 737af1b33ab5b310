import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { bootOf, claimEmbeddedBoot } from './embedded-keys.ts';

const redis = new Redis(inject('redisUrl'));
afterAll(() => redis.disconnect());

// a base of its own, so the test never sees another test's embedded keys
const base = `t${randomBytes(3).toString('hex')}`;
const boot = () => `${base}:embedded:${randomBytes(4).toString('hex')}`;
const keysOf = async (b: string) => [...(await redis.keys(`${b}:*`)), ...(await redis.keys(`{${b}}:*`))].sort();

describe('embedded boot keys', () => {
  it.each([
    ['lgw:embedded:0a1b2c3d:op:op_1', 'lgw:embedded:0a1b2c3d'],
    ['{lgw:embedded:0a1b2c3d}:bull:ops-tmo:meta', 'lgw:embedded:0a1b2c3d'],
    ['lgw:op:op_1', null],
    ['other:embedded:0a1b2c3d:x', null],
  ])('when the key is %s, then its boot is %s', (key, expected) => {
    expect(bootOf(key, 'lgw')).toBe(expected);
  });

  it('when a boot is released, then every key of it (tagged or not) is gone', async () => {
    const b = boot();
    const handle = await claimEmbeddedBoot(redis, base, b);
    await redis.set(`${b}:op:op_1`, 'x');
    await redis.set(`{${b}}:bull:ops-tmo:meta`, 'x');
    expect(await keysOf(b)).toHaveLength(3); // two and the alive marker
    await handle.release();
    await handle.release();
    expect(await keysOf(b)).toEqual([]);
  });

  it('when a boot starts, then the keys of dead boots are swept and those of live boots kept', async () => {
    const dead = boot();
    const live = boot();
    await redis.set(`${dead}:op:op_1`, 'x');
    await redis.set(`{${dead}}:audit`, 'x');
    const liveHandle = await claimEmbeddedBoot(redis, base, live);
    await redis.set(`${live}:op:op_2`, 'x');

    const next = await claimEmbeddedBoot(redis, base, boot());
    expect(await keysOf(dead)).toEqual([]);
    expect(await keysOf(live)).toEqual([`${live}:alive`, `${live}:op:op_2`]);
    expect(await redis.pttl(`${live}:alive`)).toBeGreaterThan(0);
    await next.release();
    await liveHandle.release();
  });
});
