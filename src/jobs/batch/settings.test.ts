import type { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createOperationStore } from '../operation-store.ts';
import { createBatchKeys } from './keys.ts';
import { createTerminalSettings } from './settings.ts';
import { createBatchStore } from './store.ts';
import { batchHarness, SETTINGS, type BatchHarness } from './test-support/harness.ts';

const redisUrl = inject('redisUrl');
const WRITES = new Set(['hset', 'hmset', 'hsetnx', 'hdel', 'set', 'del', 'incr', 'hincrby', 'rpush', 'zadd', 'sadd', 'eval', 'evalsha', 'pexpire']);

let h: BatchHarness;
afterEach(async () => {
  await h.close();
});

/**
 * A client that behaves like a process killed right after its first write reached Redis: that
 * write lands, every later command (of this "process") fails and nothing else is sent.
 */
function dyingAfterFirstWrite(redis: Redis): Redis {
  let dead = false;
  const die = () => {
    dead = true;
  };
  const wrapExec = (batch: { exec: (...a: unknown[]) => Promise<unknown> }) => {
    const exec = batch.exec.bind(batch);
    batch.exec = async (...a: unknown[]) => {
      if (dead) throw new Error('process died');
      const r = await exec(...a);
      die();
      return r;
    };
    return batch;
  };
  return new Proxy(redis, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function' || typeof prop !== 'string') return v;
      return (...args: unknown[]) => {
        if (dead) return Promise.reject(new Error('process died'));
        const r = (v as (...a: unknown[]) => unknown).apply(target, args);
        if (prop === 'multi' || prop === 'pipeline') return wrapExec(r as { exec: (...a: unknown[]) => Promise<unknown> });
        if (!WRITES.has(prop.toLowerCase())) return r;
        return (r as Promise<unknown>).then((x) => {
          die();
          return x;
        });
      };
    },
  });
}

/** Every running settings operation of the harness's prefix, with its change's state in the batch store. */
async function runningSettingsOperations(): Promise<{ id: string; change: string | null }[]> {
  const { redis, keys } = h.operations.runtime;
  const batchKeys = createBatchKeys(h.prefix);
  const out: { id: string; change: string | null }[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', keys.operation('*'), 'COUNT', 1000);
    cursor = next;
    for (const k of found) {
      if (k.endsWith(':lease')) continue;
      const [id, kind, status] = await redis.hmget(k, 'id', 'kind', 'status');
      if (kind !== 'terminal.settings' || status !== 'running' || !id) continue;
      out.push({ id, change: await redis.hget(batchKeys.change(id), 'state') });
    }
  } while (cursor !== '0');
  return out;
}

describe('terminal settings: accepting a change', () => {
  it.each([
    ['the first change of a terminal', false],
    ['a change that supersedes a pending one', true],
  ])('when the process dies right after its first write while accepting %s, then no operation is left running without its change', async (_what, supersedes) => {
    h = await batchHarness(redisUrl);
    const [tid] = h.seedTerminals(1) as [string];
    if (supersedes) await h.put(tid);
    const rt = h.operations.runtime;
    const dying = dyingAfterFirstWrite(rt.redis);
    const settings = createTerminalSettings({
      services: h.services,
      store: createBatchStore(dying, createBatchKeys(h.prefix)),
      redis: dying,
      operationKeys: rt.keys,
      operationStore: createOperationStore(dying, rt.keys, { succeededTtlMs: 60_000 }),
      deadLetters: rt.deadLetters,
      cipher: rt.cipher,
    });

    const submitted = await settings.submit(tid, { ...SETTINGS, tipping: false }, { requestId: 'req-crash', principal: 'svc-test', preferAsync: false }).then(
      (r) => r.operationId,
      () => null,
    );

    // whatever the death left behind: each running operation's change is the terminal's pending one
    const running = await runningSettingsOperations();
    expect(running.length).toBeGreaterThanOrEqual(1);
    for (const op of running) expect(op).toEqual({ id: op.id, change: 'accepted' });
    const pending = await rt.redis.hget(createBatchKeys(h.prefix).pending, tid);
    expect(running.map((o) => o.id)).toEqual([pending]);
    if (submitted) expect(pending).toBe(submitted);

    // and the exchange carries it to the end: every operation of the terminal finishes
    await h.batch.exchange.exportNow();
    await h.tmoBatch.processInbox();
    await h.batch.exchange.processAnswers();
    expect(await runningSettingsOperations()).toEqual([]);
  });
});
