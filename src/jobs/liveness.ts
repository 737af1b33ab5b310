import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keys } from './keys.ts';

/**
 * Liveness of this process, as other processes see it: one key `{p}:instance:{id}` with a short
 * TTL, renewed by a heartbeat while the process lives. A lease or an idempotency claim records
 * the instance that holds it; when that instance's key is gone, the holder is dead (SIGKILLed,
 * OOM-killed, its host lost) and the claim can be taken over at once, instead of after the
 * claim's own (long) TTL.
 *
 * The TTL must outlast the longest Redis stall or process pause the gateway should survive: a
 * holder that is alive but could not renew for longer than the TTL is presumed dead, and a
 * resend may take over its operation while its legacy call is still in flight. The heartbeat
 * runs every TTL/10, so after a stall the key still has ~90 % of its TTL left; on reconnect it
 * is renewed at once.
 */
export interface InstanceLiveness {
  /** this process's instance id (random per boot) */
  readonly id: string;
  /** the key other processes check */
  keyOf(instanceId: string): string;
  /** Writes the key once (resolves when Redis has it) and starts the heartbeat. */
  start(): Promise<void>;
  /** Stops the heartbeat and deletes the key (a clean shutdown leaves nothing to take over late). Idempotent. */
  stop(): Promise<void>;
}

export function createInstanceLiveness(deps: { redis: Redis; keys: Keys; ttlMs: number }): InstanceLiveness {
  const { redis, keys, ttlMs } = deps;
  const id = `${process.pid}-${randomUUID().slice(0, 8)}`;
  const key = keys.instance(id);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const beat = () => redis.set(key, '1', 'PX', ttlMs).then(() => undefined);
  const onReady = () => void beat().catch(() => undefined);
  return {
    id,
    keyOf: (instanceId) => keys.instance(instanceId),
    async start() {
      await beat();
      if (timer || stopped) return;
      timer = setInterval(onReady, Math.max(100, Math.floor(ttlMs / 10)));
      timer.unref();
      redis.on('ready', onReady);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      redis.off('ready', onReady);
      await redis.del(key).catch(() => undefined);
    },
  };
}
