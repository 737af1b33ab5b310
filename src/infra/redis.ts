import { connect } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config.ts';
import type { Logger } from './logger.ts';
import { RedisBinaryMissingError, startPrivateRedis, type PrivateRedis } from './redis-server.ts';

export { RedisBinaryMissingError };

/** Where the Redis the gateway uses came from. */
export type RedisSource = 'env' | 'local' | 'private';

export interface ResolvedRedis {
  url: string;
  source: RedisSource;
  /** stops the private redis-server (if one was started); a no-op otherwise; safe to call twice */
  stop(): Promise<void>;
}

export interface ResolveRedisOptions {
  /** the conventional local Redis to try when REDIS_URL is unset; default `redis://127.0.0.1:6379` */
  localUrl?: string;
  /** how `startPrivateRedis` is called (tests pass a missing binary) */
  startPrivate?: () => Promise<PrivateRedis>;
  /** how long to wait for the local Redis to answer PING; default 500 ms */
  probeTimeoutMs?: number;
}

/**
 * Sends `PING` over a bare socket and reports the first reply line: `+PONG` means a Redis that
 * needs no password. Anything else (nothing listening, another protocol, `-NOAUTH`) is not usable
 * without a URL.
 */
export function pingRedis(host: string, port: number, timeoutMs = 500): Promise<'pong' | 'refused' | 'other'> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    let reply = '';
    const done = (result: 'pong' | 'refused' | 'other') => {
      sock.destroy();
      resolve(result);
    };
    sock.setTimeout(timeoutMs, () => done(reply === '' ? 'refused' : 'other'));
    sock.once('error', () => done('refused'));
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG') ? 'pong' : 'other');
    });
    sock.once('end', () => done('other'));
  });
}

/**
 * Decides which Redis the gateway uses (embedded-friendly default):
 * 1. `REDIS_URL` when set (connected mode: only that, or an error);
 * 2. else a Redis answering PING on 127.0.0.1:6379 (logged, since it is shared with whatever
 *    else uses it);
 * 3. else a private `redis-server` on a free loopback port, stopped by `stop()`.
 *
 * @throws {RedisBinaryMissingError} when 3. is needed and `redis-server` is not installed; its
 *   message says how to install Redis or set REDIS_URL.
 */
export async function resolveRedis(
  config: Pick<Config, 'redisUrl'> & { mode?: Config['mode'] },
  logger: Logger,
  options: ResolveRedisOptions = {},
): Promise<ResolvedRedis> {
  const noop = () => Promise.resolve();
  if (config.redisUrl !== undefined) {
    logger.info({ redis: 'env' }, 'using the Redis from REDIS_URL');
    return { url: config.redisUrl, source: 'env', stop: noop };
  }
  if (config.mode === 'connected') {
    // loadConfig already refuses this; never fall back to a guessed or private Redis here
    throw new Error('REDIS_URL is required in connected mode');
  }
  const localUrl = options.localUrl ?? 'redis://127.0.0.1:6379';
  const local = new URL(localUrl);
  const probe = await pingRedis(local.hostname, Number(local.port || 6379), options.probeTimeoutMs ?? 500);
  if (probe === 'pong') {
    logger.info({ redis: 'local', url: localUrl }, 'REDIS_URL is unset: using the Redis answering on %s', localUrl);
    return { url: localUrl, source: 'local', stop: noop };
  }
  if (probe === 'other') {
    logger.warn({ url: localUrl }, 'something answers on %s but not as a password-less Redis: starting a private redis-server', localUrl);
  }
  const start = options.startPrivate ?? (() => startPrivateRedis());
  const privateRedis = await start();
  logger.info({ redis: 'private', url: privateRedis.url }, 'REDIS_URL is unset and no local Redis answers: started a private redis-server on %s', privateRedis.url);
  return { url: privateRedis.url, source: 'private', stop: () => privateRedis.stop() };
}

/**
 * An ioredis client for `url`. `maxRetriesPerRequest: null` is what BullMQ requires for the
 * connections its workers block on; callers may override everything else.
 */
export function createRedisConnection(url: string, opts: RedisOptions = {}): Redis {
  return new Redis(url, { ...opts, maxRetriesPerRequest: null });
}

/**
 * How every Redis client of the gateway behaves when Redis restarts or stalls, by role:
 *
 * - `commands` (operation store, idempotency, health): reconnect every ≤ 1 s for ever; a command
 *   fails after one reconnect attempt or `commandTimeoutMs`, so a request never hangs on an
 *   absent Redis — it answers 503 (nothing recorded) or 202 (recorded, a worker resumes it).
 * - `bullmq` (the queue producer and the workers' connections, blocking ones included): BullMQ
 *   requires `maxRetriesPerRequest: null` (commands wait for the reconnect instead of failing),
 *   and no command timeout (its blocking commands wait on purpose). Never auto-pipelined, said
 *   explicitly because a `duplicate()` inherits it from an auto-pipelined commands client: BullMQ
 *   is not tested that way (users saw "Job is not in the active list" with it, bullmq#457).
 *
 * Both: a `READONLY` reply (a replica promoted, a failover) reconnects and resends.
 */
export function redisClientOptions(role: 'commands' | 'bullmq', commandTimeoutMs = 3_000): RedisOptions {
  const common: RedisOptions = {
    retryStrategy: (times: number) => Math.min(100 * times, 1_000),
    reconnectOnError: (err: Error) => (err.message.startsWith('READONLY') ? 2 : false),
  };
  return role === 'commands'
    ? { ...common, maxRetriesPerRequest: 1, commandTimeout: commandTimeoutMs, enableOfflineQueue: true }
    : { ...common, maxRetriesPerRequest: null, commandTimeout: undefined as unknown as number, enableAutoPipelining: false };
}
