/**
 * Embedded mode keys its Redis data per boot (`{base}:embedded:{hex}`): the simulators forget
 * everything on restart, so a boot's operations, idempotency records and queues mean nothing to
 * the next one. This module keeps those keys from piling up in the (often shared, local) Redis:
 * - a boot marks itself alive (`{boot}:alive`, PX, renewed while it runs);
 * - a clean shutdown deletes the boot's keys;
 * - each start deletes the keys of earlier boots that are no longer alive (killed ones).
 * Connected mode never uses it.
 */
import type { Redis } from 'ioredis';

const ALIVE_TTL_MS = 60_000;

export interface EmbeddedBoot {
  /** stops the heartbeat and deletes every key of this boot; safe to call twice */
  release(): Promise<void>;
}

/** `{base}:embedded:{hex}` of a key, with or without a hash tag around it; null for other keys. */
export function bootOf(key: string, base: string): string | null {
  const m = new RegExp(`^\\{?(${base.replace(/[-_]/g, '\\$&')}:embedded:[0-9a-f]+)\\}?:`).exec(key);
  return m?.[1] ?? null;
}

async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    out.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return out;
}

async function unlinkAll(redis: Redis, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 500) await redis.unlink(...keys.slice(i, i + 500));
}

/** Keys of boot `boot` (tagged or not). */
function bootKeys(redis: Redis, boot: string): Promise<string[][]> {
  return Promise.all([scanKeys(redis, `${boot}:*`), scanKeys(redis, `{${boot}}:*`)]);
}

/**
 * Marks `boot` (a `{base}:embedded:{hex}` prefix) alive and sweeps the keys of dead boots of the
 * same base. Returns the handle that deletes this boot's keys at shutdown.
 */
export async function claimEmbeddedBoot(redis: Redis, base: string, boot: string): Promise<EmbeddedBoot> {
  const alive = (b: string) => `${b}:alive`;
  await redis.set(alive(boot), '1', 'PX', ALIVE_TTL_MS);
  const beat = setInterval(() => {
    redis.set(alive(boot), '1', 'PX', ALIVE_TTL_MS).catch(() => undefined);
  }, ALIVE_TTL_MS / 3);
  beat.unref();

  const found = new Set<string>();
  for (const k of [...(await scanKeys(redis, `${base}:embedded:*`)), ...(await scanKeys(redis, `{${base}:embedded:*`))]) {
    const b = bootOf(k, base);
    if (b && b !== boot) found.add(b);
  }
  for (const b of found) {
    if ((await redis.exists(alive(b))) === 1) continue;
    await unlinkAll(redis, (await bootKeys(redis, b)).flat());
  }

  let released: Promise<void> | undefined;
  return {
    release() {
      released ??= (async () => {
        clearInterval(beat);
        await unlinkAll(redis, [...(await bootKeys(redis, boot)).flat(), alive(boot)]);
      })();
      return released;
    },
  };
}
