/**
 * What the gateway requires of the Redis it is given before it accepts a single write
 * (docs/DECISIONS.md "Durable means durable"): BullMQ's `maxmemory-policy noeviction` (an
 * evicting Redis silently drops queued jobs and operation records), and persistence (AOF or
 * RDB) so a Redis restart does not lose 202-accepted writes.
 */
import { Redis } from 'ioredis';
import type { Logger } from './logger.ts';

/** The gateway refuses to start: `message` says which setting or variable and how to fix it. */
export class StartupRefusedError extends Error {
  readonly code = 'STARTUP_REFUSED';
  constructor(
    message: string,
    /** the Redis setting or environment variable at fault */
    readonly setting: string,
  ) {
    super(message);
    this.name = 'StartupRefusedError';
  }
}

export interface RedisDurability {
  maxmemoryPolicy: string;
  aof: boolean;
  /** RDB snapshots configured (`save` not empty); `undefined` when CONFIG is not allowed */
  rdb: boolean | undefined;
}

export interface CheckRedisOptions {
  /** where to say the Redis is (no password): e.g. `redis://redis.internal:6379/0` */
  label: string;
  /** refuse (connected mode) or only warn (embedded demo) on an evicting Redis */
  requireNoEviction: boolean;
  /** warn when neither AOF nor RDB is on (connected mode, unless REDIS_ALLOW_NO_PERSISTENCE) */
  warnWithoutPersistence: boolean;
  /** default 5000 */
  timeoutMs?: number;
}

function infoField(info: string, field: string): string | undefined {
  const m = new RegExp(`^${field}:(.*)$`, 'm').exec(info);
  return m?.[1]?.trim();
}

/** Reads the eviction policy and persistence of the Redis at `url`. */
export async function readRedisDurability(url: string, timeoutMs = 5000): Promise<RedisDurability> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  redis.on('error', () => undefined); // the awaited commands report it
  try {
    await redis.connect();
    // INFO works where CONFIG is renamed away (managed Redis); it carries the policy and AOF
    const memory = await redis.info('memory');
    const persistence = await redis.info('persistence');
    const maxmemoryPolicy = infoField(memory, 'maxmemory_policy') ?? 'unknown';
    const aof = infoField(persistence, 'aof_enabled') === '1';
    let rdb: boolean | undefined;
    try {
      const save = (await redis.call('CONFIG', 'GET', 'save')) as unknown;
      rdb = Array.isArray(save) && typeof save[1] === 'string' ? save[1].trim() !== '' : undefined;
    } catch {
      rdb = undefined;
    }
    return { maxmemoryPolicy, aof, rdb };
  } finally {
    redis.disconnect();
  }
}

/**
 * Checks the Redis at `url`:
 * - `maxmemory-policy` other than `noeviction` → {@link StartupRefusedError} naming the setting
 *   (or one warning, when `requireNoEviction` is false);
 * - neither AOF nor RDB → one warning, when `warnWithoutPersistence`.
 * @throws {StartupRefusedError} also when the Redis cannot be reached or read
 */
export async function checkRedis(url: string, opts: CheckRedisOptions, logger: Logger): Promise<RedisDurability> {
  let d: RedisDurability;
  try {
    d = await readRedisDurability(url, opts.timeoutMs);
  } catch (err) {
    throw new StartupRefusedError(
      `cannot read the Redis at ${opts.label} (${err instanceof Error ? err.message : String(err)}); check REDIS_URL and that Redis is up`,
      'REDIS_URL',
    );
  }
  if (d.maxmemoryPolicy !== 'noeviction') {
    const message =
      `the Redis at ${opts.label} has maxmemory-policy ${d.maxmemoryPolicy}; the gateway requires maxmemory-policy noeviction ` +
      '(an evicting Redis silently drops queued writes): set it in redis.conf or with CONFIG SET maxmemory-policy noeviction';
    if (opts.requireNoEviction) throw new StartupRefusedError(message, 'maxmemory-policy');
    logger.warn({ redis: opts.label, maxmemoryPolicy: d.maxmemoryPolicy }, message);
  }
  if (opts.warnWithoutPersistence && !d.aof && d.rdb !== true) {
    logger.warn(
      { redis: opts.label, appendonly: d.aof, rdb: d.rdb ?? 'unknown' },
      d.rdb === false
        ? 'the Redis at %s has no persistence (appendonly no, save ""): accepted writes are lost if Redis restarts. Turn on AOF (appendonly yes), or set REDIS_ALLOW_NO_PERSISTENCE=true to accept this'
        : 'the Redis at %s has AOF off and its RDB snapshots could not be checked (CONFIG is not allowed): accepted writes may be lost if Redis restarts. Turn on AOF (appendonly yes), or set REDIS_ALLOW_NO_PERSISTENCE=true to accept this',
      opts.label,
    );
  }
  return d;
}
