/**
 * The last-known copies of terminals and merchants in Redis (LastKnownPort; issue 8,
 * docs/DECISIONS.md "Reads that survive a legacy outage").
 *
 * | key | type | what |
 * | --- | --- | --- |
 * | `{p}:lk:terminal:{id}` | string, EX | `{"v":1,"at":<ms>,"data":{…}}` — a terminal holds no personal data |
 * | `{p}:lk:merchant:{id}` | string, EX | `{"v":1,"at":<ms>,"sealed":"…"}` — sealed (names, e-mail, phone, address, masked IBAN) |
 *
 * `{p}` is the deployment's hash-tagged prefix (`createKeys(prefix).prefix`), like every other
 * key. Writes are fire-and-forget: a read never waits for Redis, a failure is logged (at
 * most once per 10 s). A copy that has not changed is written again only after `refreshMs`,
 * so a hot id costs one write per interval, not one per read; `Age` is then overstated by at
 * most that interval, never understated.
 *
 * `at` is when the legacy system confirmed the copy: for a read, when it was sent (the caller's
 * `confirmedAt`), so `Age` is overstated by at most the call's duration, never understated. A
 * copy is never written over one confirmed later (`LAST_KNOWN_SET_LUA`, also inside the runner's
 * success script): a read sent before a write was applied, answered after the write's copy was
 * stored, must not put the state from before the write back.
 */
import type { Redis } from 'ioredis';
import type { LastKnown, LastKnownEntities, LastKnownKind, LastKnownPort } from '../domain/read-model.port.ts';
import type { StringCipher } from './crypto/index.ts';
import { evalScript, LAST_KNOWN_SET_LUA } from './operation-store.ts';

const FORMAT = 1;
const SEALED_KINDS: ReadonlySet<LastKnownKind> = new Set(['merchant']);

export interface LastKnownStoreOptions {
  redis: Redis;
  /** the gateway's Redis key prefix */
  prefix: string;
  /** seals personal data (merchants) */
  cipher: StringCipher;
  ttlSeconds: number;
  logger: { warn(obj: Record<string, unknown>, msg?: string): void };
  /** an unchanged copy is rewritten after this long (default 10 s) */
  refreshMs?: number;
  /** ids whose last write is remembered in memory for the refresh check (default 10,000) */
  maxTracked?: number;
  now?: () => number;
}

/**
 * A copy's write for a writer that sends it inside its own script (one command less than
 * `remember`): the key (under the deployment's hash-tagged prefix), the record and its TTL. The
 * script must not write it over a copy confirmed later (`set_copy` in `operation-store.ts`).
 */
export interface LastKnownWrite {
  key: string;
  record: string;
  ttlSeconds: number;
  /** the writer's script failed: forget the copy was written, so the next `remember` sends it */
  failed(): void;
}

/** The store as the job layer sees it: the port, plus `prepare` for the runner's success script. */
export interface LastKnownStore extends LastKnownPort {
  /**
   * `remember` without the write: what to write, or null when there is nothing to (unchanged and
   * written less than `refreshMs` ago, older than the copy this store last wrote, or it could not
   * be sealed — logged as by `remember`). The caller must write it, or call `failed()`.
   * `confirmedAt` (ms): when the legacy system confirmed `value`, default now.
   */
  prepare<K extends LastKnownKind>(kind: K, id: string, value: LastKnownEntities[K], confirmedAt?: number): LastKnownWrite | null;
  /** Sends a prepared copy the writer's script did not write, as `remember` does (fire-and-forget). */
  send(write: LastKnownWrite): void;
}

/** Redis key of a copy. */
export function lastKnownKey(prefix: string, kind: LastKnownKind, id: string): string {
  return `${prefix}:lk:${kind}:${id}`;
}

/**
 * True only when `value` certainly serialises to the same JSON as `copy` (which came from
 * `JSON.parse`): the same own keys in the same order, equal strings, booleans, nulls and finite
 * numbers, plain objects and arrays without `toJSON` all the way down. Anything else (undefined
 * members, dates, class instances, a `toJSON`, NaN, a BigInt, a cycle) answers false and the
 * caller compares the JSON itself, so a false "no" only costs the old `JSON.stringify`.
 */
function sameJson(copy: unknown, value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return copy === value;
    case 'number':
      return copy === value && Number.isFinite(value);
    case 'object': {
      if (value === null) return copy === null;
      if (typeof copy !== 'object' || copy === null || 'toJSON' in value) return false;
      const proto: unknown = Object.getPrototypeOf(value);
      if (Array.isArray(value)) {
        if (proto !== Array.prototype || !Array.isArray(copy) || copy.length !== value.length) return false;
        for (let i = 0; i < value.length; i++) if (!sameJson(copy[i], value[i])) return false;
        return true;
      }
      if ((proto !== Object.prototype && proto !== null) || Array.isArray(copy)) return false;
      const keys = Object.keys(value);
      const copyKeys = Object.keys(copy);
      if (keys.length !== copyKeys.length) return false;
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i] as string;
        if (k !== copyKeys[i] || !sameJson((copy as Record<string, unknown>)[k], (value as Record<string, unknown>)[k])) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

export function createLastKnownStore(opts: LastKnownStoreOptions): LastKnownStore {
  const now = opts.now ?? Date.now;
  const refreshMs = opts.refreshMs ?? 10_000;
  const maxTracked = opts.maxTracked ?? 10_000;
  /**
   * key → the JSON written, when, and that JSON parsed back (compared field by field on the
   * next read: a JSON.stringify per read was ~1 % of a terminal read's CPU, issue 8). The
   * parsed copy, not the caller's object, so a caller changing its object later cannot make a
   * changed value look written. Map order = insertion order (oldest first).
   */
  const written = new Map<string, { json: string; at: number; copy: unknown }>();
  let lastWarnAt = -Infinity;

  const warn = (err: unknown, op: string): void => {
    const t = now();
    if (t - lastWarnAt < 10_000) return;
    lastWarnAt = t;
    opts.logger.warn({ event: 'last_known_store_failed', op, err: (err as Error)?.name ?? 'Error' }, 'last-known copy store failed');
  };

  function prepare<K extends LastKnownKind>(kind: K, id: string, value: LastKnownEntities[K], confirmedAt?: number): LastKnownWrite | null {
    try {
      const key = lastKnownKey(opts.prefix, kind, id);
      const at = confirmedAt ?? now();
      const prev = written.get(key);
      // older than the copy last written from here: Redis would refuse it (no command for that)
      if (prev !== undefined && at < prev.at) return null;
      const fresh = prev !== undefined && at - prev.at < refreshMs;
      // the same decision as comparing the JSON: sameJson says "same" only when it is
      if (fresh && sameJson(prev.copy, value)) return null;
      const json = JSON.stringify(value);
      if (fresh && prev.json === json) return null;
      const record = SEALED_KINDS.has(kind)
        ? `{"v":${FORMAT},"at":${at},"sealed":${JSON.stringify(opts.cipher.seal(json))}}`
        : `{"v":${FORMAT},"at":${at},"data":${json}}`;
      const entry = { json, at, copy: JSON.parse(json) as unknown };
      written.delete(key);
      written.set(key, entry);
      if (written.size > maxTracked) written.delete(written.keys().next().value as string);
      // only this write's memo: a later one's still stands
      const failed = (): void => {
        if (written.get(key) === entry) written.delete(key);
      };
      return { key, record, ttlSeconds: opts.ttlSeconds, failed };
    } catch (err) {
      warn(err, 'seal');
      return null;
    }
  }

  const setCopy = evalScript(opts.redis, LAST_KNOWN_SET_LUA);

  function send(w: LastKnownWrite): void {
    setCopy(1, w.key, w.record, String(w.ttlSeconds)).then(
      // Redis holds a copy confirmed later (another process wrote it): this one is not what is
      // stored, so the next `remember` of it is not skipped as unchanged
      (written) => {
        if (written === 0) w.failed();
      },
      (err: unknown) => {
        w.failed();
        warn(err, 'set');
      },
    );
  }

  return {
    prepare,
    send,

    remember(kind, id, value, confirmedAt) {
      const w = prepare(kind, id, value, confirmedAt);
      if (w) send(w);
    },

    forget(kind, id) {
      const key = lastKnownKey(opts.prefix, kind, id);
      written.delete(key); // found again, even unchanged, it is written again
      opts.redis.del(key).catch((err: unknown) => warn(err, 'del'));
    },

    async recall<K extends LastKnownKind>(kind: K, id: string): Promise<LastKnown<LastKnownEntities[K]> | null> {
      try {
        const raw = await opts.redis.get(lastKnownKey(opts.prefix, kind, id));
        if (raw === null) return null;
        const record = JSON.parse(raw) as { v?: unknown; at?: unknown; data?: unknown; sealed?: unknown };
        if (record.v !== FORMAT || !Number.isFinite(record.at)) return null;
        // expired even if Redis still holds it (written under a longer TTL, since lowered)
        if (now() - (record.at as number) > opts.ttlSeconds * 1000) return null;
        const value = typeof record.sealed === 'string' ? (JSON.parse(opts.cipher.open(record.sealed)) as unknown) : record.data;
        // A value this store did not write for this id (an array, `{}`, another resource's copy
        // moved to this key: the seal binds no id) is no copy: a 503, not garbage or a 500.
        if (typeof value !== 'object' || value === null || (value as { id?: unknown }).id !== id) return null;
        return { value: value as LastKnownEntities[K], confirmedAt: record.at as number };
      } catch (err) {
        warn(err, 'get');
        return null;
      }
    },
  };
}
