import type { Redis } from 'ioredis';

/**
 * The writes an ioredis client makes in one turn of the event loop leave in one socket write
 * (`writev`) instead of one each (issue 8): the first write of a turn corks the socket, and a
 * `process.nextTick` uncorks it once the turn's callbacks, ticks and promise continuations have
 * run — before the event loop moves on, so nothing waits for a later turn.
 *
 * For BullMQ's worker connection, which must not be auto-pipelined (`redisClientOptions`: a
 * command ioredis sends directly can overtake auto-pipelined ones queued before it, bullmq#457):
 * here every command still goes out in exactly the order ioredis wrote it, on the same socket,
 * with the same replies in the same order; only the number of `write` system calls changes. Each
 * one costs tens of µs of CPU on loopback, and the jobs that finish in one turn (their results
 * arrive together in one read) each call `moveToFinished` on this connection.
 *
 * Applied to the socket of every (re)connection. A socket destroyed in the same turn as a write
 * drops it, as a socket destroyed just after the write would have lost it in the kernel's buffer:
 * ioredis answers every command still waiting for a reply with an error either way.
 */
export function coalesceWrites(redis: Redis): Redis {
  const patched = new WeakSet<object>();
  const patch = () => {
    const stream = (redis as unknown as { stream?: CorkableStream }).stream;
    if (!stream || patched.has(stream) || typeof stream.cork !== 'function') return;
    patched.add(stream);
    const write = stream.write;
    const uncork = () => stream.uncork();
    stream.write = function coalescedWrite(this: CorkableStream, ...args: unknown[]) {
      if (stream.writableCorked === 0) {
        stream.cork();
        process.nextTick(uncork);
      }
      return write.apply(this, args);
    };
  };
  redis.on('connect', patch);
  patch();
  return redis;
}

interface CorkableStream {
  write: (...args: unknown[]) => boolean;
  cork(): void;
  uncork(): void;
  readonly writableCorked: number;
}
