import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keys } from './keys.ts';
import type { LastKnownWrite } from './last-known.ts';
import {
  LEGACY_SYSTEMS,
  OPERATION_KINDS,
  type LegacySystem,
  type OperationKind,
  type OperationProblem,
  type OperationStatus,
  type OperationView,
  type ResourceRef,
  type StepRecord,
  type StoredError,
} from './types.ts';

/** An operation as stored. `input` is already sealed (no clear IBAN ever reaches this record). */
export interface OperationRecord {
  id: string;
  kind: OperationKind;
  status: OperationStatus;
  createdAt: string;
  updatedAt: string;
  principal: string;
  requestId: string;
  input: unknown;
  progress: Record<string, unknown>;
  steps: StepRecord[];
  resource: ResourceRef | null;
  error: StoredError | null;
  /** runs started (inline or worker) */
  attempts: number;
  /** enqueue sequence: job ids are `{id}-r{run}` so a re-enqueued operation gets a fresh job */
  run: number;
  /** first failed run (ISO), null if none failed yet */
  firstFailedAt: string | null;
  /**
   * Failed runs per legacy system that count against that system's retry budget (inline run
   * included; waits for an open breaker excluded). Kept here, not in BullMQ's `attemptsMade`,
   * which mixes both systems and never sees the inline run.
   */
  failures: Record<LegacySystem, number>;
}

const failuresField = (system: LegacySystem) => `failures:${system}`;

export function newOperationId(): string {
  return `op_${randomUUID().replaceAll('-', '')}`;
}

export function toProblem(e: StoredError): OperationProblem {
  return {
    code: e.code,
    kind: e.kind,
    detail: e.message,
    retryable: e.retryable,
    ...(e.fields.length > 0 ? { errors: e.fields } : {}),
  };
}

export function toView(r: OperationRecord): OperationView {
  return {
    id: r.id,
    kind: r.kind,
    status: r.status,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    attempts: r.attempts,
    steps: r.steps,
    resource: r.resource,
    problem: r.status === 'failed' && r.error ? toProblem(r.error) : null,
  };
}

function parseJson<T>(s: string | undefined, fallback: T): T {
  if (s === undefined || s === '') return fallback;
  return JSON.parse(s) as T;
}

function isKind(v: string | undefined): v is OperationKind {
  return v !== undefined && (OPERATION_KINDS as readonly string[]).includes(v);
}

/** An operation record from its hash (HGETALL); null if there is none. */
function parseRecord(h: Record<string, string>): OperationRecord | null {
  if (!h.id || !isKind(h.kind)) return null;
  return {
    id: h.id,
    kind: h.kind,
    status: (h.status ?? 'queued') as OperationStatus,
    createdAt: h.createdAt ?? '',
    updatedAt: h.updatedAt ?? '',
    principal: h.principal ?? '',
    requestId: h.requestId ?? '',
    input: parseJson<unknown>(h.input, null),
    progress: parseJson<Record<string, unknown>>(h.progress, {}),
    steps: parseJson<StepRecord[]>(h.steps, []),
    resource: parseJson<ResourceRef | null>(h.resource, null),
    error: parseJson<StoredError | null>(h.error, null),
    attempts: Number(h.attempts ?? 0),
    run: Number(h.run ?? 0),
    firstFailedAt: h.firstFailedAt || null,
    failures: Object.fromEntries(LEGACY_SYSTEMS.map((sys) => [sys, Number(h[failuresField(sys)] ?? 0)])) as Record<LegacySystem, number>,
  };
}

/** What `create` takes: the record without the fields the store maintains. */
export type NewOperation = Omit<OperationRecord, 'updatedAt' | 'firstFailedAt' | 'failures'>;

/**
 * The hash fields of a new operation record, as `create` writes them. Exported for the writers
 * that must create the record in the same atomic step as their own keys (a Lua script on the
 * same hash tag), e.g. the terminal-settings change (src/jobs/batch/store.ts).
 */
export function operationFields(r: NewOperation): Record<string, string | number> {
  return {
    id: r.id,
    kind: r.kind,
    status: r.status,
    createdAt: r.createdAt,
    updatedAt: r.createdAt,
    principal: r.principal,
    requestId: r.requestId,
    input: JSON.stringify(r.input),
    progress: JSON.stringify(r.progress),
    steps: JSON.stringify(r.steps),
    resource: r.resource ? JSON.stringify(r.resource) : '',
    error: r.error ? JSON.stringify(r.error) : '',
    attempts: r.attempts,
    run: r.run,
  };
}

/**
 * The step store: operation records in Redis hashes. Writers are serialised by the operation
 * lease (see `acquireLease`), so plain HSETs are enough; every write refreshes `updatedAt`.
 */
export function createOperationStore(
  redis: Redis,
  keys: Keys,
  opts: {
    succeededTtlMs: number;
    /** this process's instance id (see `liveness.ts`): leases name it so a dead holder's can be taken over */
    instanceId?: string;
  },
) {
  // Without an instance id a lease names no process and is never taken over (only its TTL frees it).
  const instanceId = opts.instanceId;
  /**
   * The leases this store holds, by TTL, each set renewed by one timer every TTL/3 (as each lease's
   * own interval did: never longer than TTL/3 between renewals, the first at most TTL/3 after
   * the lease was taken). One timer per TTL rather than one per lease: a worker takes a lease for
   * every job, and a timer set and cleared per job was a cost on every command (issue 8).
   */
  const renewals = new Map<number, { timer: NodeJS.Timeout; held: Set<Held> }>();

  // the two scripts of every job, sent by SHA1 (their text is ~0.1 and ~0.6 kB)
  const leaseAndRead = evalScript(redis, LEASE_AND_READ_LUA);
  const succeeded = evalScript(redis, SUCCEEDED_LUA);
  const progressUnderLease = evalScript(redis, PROGRESS_UNDER_LEASE_LUA);

  async function write(id: string, fields: Record<string, string | number>): Promise<void> {
    await redis.hset(keys.operation(id), { ...fields, updatedAt: new Date().toISOString() });
  }

  return {
    async create(r: NewOperation): Promise<void> {
      await redis.hset(keys.operation(r.id), operationFields(r));
    },

    async get(id: string): Promise<OperationRecord | null> {
      return parseRecord(await redis.hgetall(keys.operation(id)));
    },

    /**
     * With `lease`: written only if the lease key still holds its token, checked in the same
     * script (`PROGRESS_UNDER_LEASE_LUA`); else nothing is written, the lease is marked lost and
     * the answer is `lease_lost` (another runner owns the record now). Without: a plain HSET.
     */
    async saveProgress(id: string, progress: object, steps: StepRecord[], lease?: Lease): Promise<'saved' | 'lease_lost'> {
      if (!lease) {
        await write(id, { progress: JSON.stringify(progress), steps: JSON.stringify(steps) });
        return 'saved';
      }
      const r = await progressUnderLease(2, lease.key, keys.operation(id), lease.token, JSON.stringify(progress), JSON.stringify(steps), new Date().toISOString());
      if (r === 1) return 'saved';
      lease.markLost();
      return 'lease_lost';
    },

    /**
     * `attempts`: the record's count including this run. Written as a value, not HINCRBY: every
     * status write happens under the operation lease, which the caller read the record under,
     * so one plain HSET (one command, no MULTI) is enough; this runs for every job.
     */
    async markRunning(id: string, steps: StepRecord[], attempts: number): Promise<void> {
      await redis.hset(keys.operation(id), { status: 'running', attempts, steps: JSON.stringify(steps), updatedAt: new Date().toISOString() });
    },

    async markQueued(id: string, steps: StepRecord[] | null, error: StoredError | null): Promise<void> {
      await write(id, {
        status: 'queued',
        ...(steps ? { steps: JSON.stringify(steps) } : {}),
        error: error ? JSON.stringify(error) : '',
      });
    },

    async markSucceeded(id: string, resource: ResourceRef, steps: StepRecord[]): Promise<void> {
      // A finished operation is kept for polling, then expires; failed ones stay while an open dead letter points at them.
      const fields = { status: 'succeeded', resource: JSON.stringify(resource), steps: JSON.stringify(steps), error: '', updatedAt: new Date().toISOString() };
      await redis.multi().hset(keys.operation(id), fields).pexpire(keys.operation(id), opts.succeededTtlMs).exec();
    },

    /**
     * The end of a successful run in one script (one round trip, where it took three): the
     * record `succeeded` with its TTL (as `markSucceeded`), its dead letter resolved if one is
     * open or retrying (as `DeadLetters.resolve`, expiring `deadLetterTtlMs` later), and, with
     * `lease`, the operation lease released (as `Lease.release`; the lease is then done).
     */
    async finishSucceeded(
      id: string,
      resource: ResourceRef,
      steps: StepRecord[],
      deadLetterTtlMs: number,
      lease?: Lease,
      /**
       * the resource's last-known copy (`LastKnownStore.prepare`), written by the same script when
       * its key is on this hash tag; `failed` is called when the script refused it (a copy
       * confirmed later is stored), as `send` does
       */
      copy?: LastKnownWrite | null,
    ): Promise<boolean> {
      const now = new Date().toISOString();
      const leaseKey = lease?.key ?? keys.lease(id);
      // Every key of a script on one hash tag (Redis Cluster): a copy elsewhere is the caller's to write.
      const withCopy = copy != null && copy.key.startsWith(`${keys.prefix}:`);
      const args = [keys.operation(id), keys.deadLetter(id), leaseKey];
      if (withCopy) args.push(copy.key);
      args.push(JSON.stringify(resource), JSON.stringify(steps), now, String(opts.succeededTtlMs), String(deadLetterTtlMs), lease?.token ?? '');
      if (withCopy) args.push(copy.record, String(copy.ttlSeconds));
      const written = await succeeded(withCopy ? 4 : 3, ...args);
      lease?.released();
      // not stored: the caller's store must not take it as written, or its next `remember` of the
      // same value (within its refresh interval) is skipped and the older copy stays
      if (withCopy && written === 0) copy.failed();
      return withCopy;
    },

    /** `markSucceeded` for many operations in one pipeline (the answer to a settings file can close 100,000). */
    async markSucceededMany(items: { id: string; resource: ResourceRef; steps: StepRecord[] }[]): Promise<void> {
      const at = new Date().toISOString();
      const pipe = redis.pipeline();
      for (const it of items) {
        pipe.hset(keys.operation(it.id), { status: 'succeeded', resource: JSON.stringify(it.resource), steps: JSON.stringify(it.steps), error: '', updatedAt: at });
        pipe.pexpire(keys.operation(it.id), opts.succeededTtlMs);
      }
      await pipe.exec();
    },

    /** `markFailed` (no TTL) for many operations in one pipeline. */
    async markFailedMany(items: { id: string; error: StoredError; steps: StepRecord[] }[]): Promise<void> {
      if (items.length === 0) return;
      const at = new Date().toISOString();
      const pipe = redis.pipeline();
      for (const it of items) pipe.hset(keys.operation(it.id), { status: 'failed', error: JSON.stringify(it.error), steps: JSON.stringify(it.steps), updatedAt: at });
      await pipe.exec();
    },

    /**
     * `ttlMs`: the record expires after it (a failure no dead letter points at). Without it the
     * record stays as long as its open dead letter does (closing the dead letter sets the TTL).
     */
    async markFailed(id: string, error: StoredError, steps: StepRecord[] | null, ttlMs?: number): Promise<void> {
      await write(id, {
        status: 'failed',
        error: JSON.stringify(error),
        ...(steps ? { steps: JSON.stringify(steps) } : {}),
      });
      if (ttlMs !== undefined) await redis.pexpire(keys.operation(id), ttlMs);
    },

    /** Remembers when the operation first failed (kept across retries, for the dead letter). */
    async noteFailure(id: string): Promise<void> {
      await redis.hsetnx(keys.operation(id), 'firstFailedAt', new Date().toISOString());
    },

    /** Counts one failed run against `system`'s retry budget; returns the new count. */
    async countFailure(id: string, system: LegacySystem): Promise<number> {
      return redis.hincrby(keys.operation(id), failuresField(system), 1);
    },

    /** A fresh retry budget on every system (an operator retried the dead letter). */
    async resetFailures(id: string): Promise<void> {
      await redis.hdel(keys.operation(id), ...LEGACY_SYSTEMS.map(failuresField));
    },

    /** Next enqueue sequence number (1 for the first job of the operation). */
    async nextRun(id: string): Promise<number> {
      return redis.hincrby(keys.operation(id), 'run', 1);
    },

    /**
     * Exclusive right to run the operation (an inline request and a worker, or two workers
     * after a stalled-job recovery, must never run the same operation at once).
     */
    async acquireLease(id: string, ttlMs: number): Promise<Lease | null> {
      const key = keys.lease(id);
      const token = leaseToken();
      if ((await redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK' && !(await takeOver(key, token, ttlMs))) return null;
      return leaseOf(key, token, ttlMs);
    },

    /**
     * `acquireLease`, then the record read under it (`get`), in one command when the lease is
     * free: one script (`LEASE_AND_READ_LUA`, the lease and the record on one hash tag) runs SET NX
     * and, only if the lease is now ours, HGETALL. Atomic where the two commands back to back were
     * only ordered, and one command for the client to build, send and answer instead of two (issue 8).
     * Sent by its SHA1 (`evalScript`): an auto-pipelined client (the operations' own) sends it in
     * the same write as the other jobs' commands of this event-loop turn.
     * When the lease is held, nothing is read and the takeover path of `acquireLease` runs.
     */
    async acquireLeaseAndGet(
      id: string,
      ttlMs: number,
      /**
       * A worker's first run of a fresh operation: when the record is still as `submit` wrote it
       * (`queued`, no attempt, progress {}), the script also writes what `markRunning(id, steps, 1)`
       * would — one command less per job (issue 8). `marked` then says it did; `op` is the record
       * as read before that write.
       */
      running?: { kind: OperationKind; steps: StepRecord[] },
    ): Promise<{ lease: Lease; op: OperationRecord | null; marked?: boolean } | null> {
      const key = keys.lease(id);
      const token = leaseToken();
      let reply: unknown;
      try {
        reply = running
          ? await leaseAndRead(2, key, keys.operation(id), token, String(ttlMs), JSON.stringify(running.steps), new Date().toISOString(), running.kind)
          : await leaseAndRead(2, key, keys.operation(id), token, String(ttlMs));
      } catch (err) {
        // The script may have failed after its SET (a script is not rolled back): free the lease
        // if it is ours, as the two commands did when the read failed.
        await redis.eval(RELEASE_LUA, 1, key, token).catch(() => undefined);
        throw err;
      }
      if (Array.isArray(reply)) {
        const [fields, marked] = reply as [unknown[], number];
        return { lease: leaseOf(key, token, ttlMs), op: parseRecord(pairsToObject(fields)), ...(running ? { marked: marked === 1 } : {}) };
      }
      if (!(await takeOver(key, token, ttlMs))) return null;
      const lease = leaseOf(key, token, ttlMs);
      try {
        return { lease, op: parseRecord(await redis.hgetall(keys.operation(id))) };
      } catch (err) {
        await lease.release().catch(() => undefined);
        throw err;
      }
    },
  };

  function leaseToken(): string {
    return instanceId ? `${instanceId}|${randomUUID()}` : randomUUID();
  }

  /** The lease is held: if its holder's process is dead (its liveness key is gone), take it over now. */
  async function takeOver(key: string, token: string, ttlMs: number): Promise<boolean> {
    // Rather than after the lease's TTL: a crashed gateway's inline run resumes at once.
    const current = await redis.get(key);
    const holder = current?.split('|')[0];
    if (current === null || !holder || holder === instanceId || !current.includes('|')) return false;
    return (await redis.eval(TAKEOVER_LUA, 2, key, keys.instance(holder), current, token, String(ttlMs))) === 1;
  }

  function startRenewing(held: Held, ttlMs: number): void {
    let group = renewals.get(ttlMs);
    if (!group) {
      const g = { held: new Set<Held>(), timer: undefined as unknown as NodeJS.Timeout };
      g.timer = setInterval(() => {
        // 0: the key no longer holds our token (taken over, or expired): the lease is lost, for
        // good. An error (Redis unreachable) tells nothing: keep going, as the next renewal may.
        for (const h of g.held) {
          redis.eval(RENEW_LUA, 1, h.key, h.token, String(ttlMs)).then(
            (r) => {
              if (r === 0) h.lost = true;
            },
            () => undefined,
          );
        }
      }, Math.max(100, Math.floor(ttlMs / 3)));
      g.timer.unref();
      renewals.set(ttlMs, g);
      group = g;
    }
    group.held.add(held);
  }

  function stopRenewing(held: Held, ttlMs: number): void {
    const group = renewals.get(ttlMs);
    if (!group?.held.delete(held) || group.held.size > 0) return;
    clearInterval(group.timer);
    renewals.delete(ttlMs);
  }

  function leaseOf(key: string, token: string, ttlMs: number): Lease {
    const held: Held = { key, token, lost: false };
    startRenewing(held, ttlMs);
    let released = false;
    return {
      key,
      token,
      get lost() {
        return held.lost;
      },
      markLost() {
        held.lost = true;
      },
      released() {
        if (released) return;
        released = true;
        stopRenewing(held, ttlMs);
      },
      async release() {
        if (released) return;
        released = true;
        stopRenewing(held, ttlMs);
        await redis.eval(RELEASE_LUA, 1, key, token);
      },
    };
  }
}

/** A lease being renewed; `lost` once Redis answered that the key no longer holds its token. */
interface Held {
  key: string;
  token: string;
  lost: boolean;
}

export interface Lease {
  release(): Promise<void>;
  /**
   * Redis answered that the key no longer holds this token (a renewal answered 0, or a
   * token-checked write refused): another runner may hold it now. Never set when Redis was
   * merely unreachable (unknown). Once lost, the holder must make no further legacy call and
   * write nothing more to the record (`LeaseLostError`).
   */
  readonly lost: boolean;
  /** a token-checked write was refused: mark the lease lost */
  markLost(): void;
  /** the lease key and this holder's token, for a script that releases it with its last write (`finishSucceeded`) */
  readonly key: string;
  readonly token: string;
  /** such a script released it: stop renewing, `release()` is then a no-op */
  released(): void;
}

/**
 * A Lua script sent by its SHA1 (EVALSHA) rather than its text on every call: its first call on
 * this client is an EVAL (which loads it: the EVALSHAs sent behind it on the same connection find
 * it), and a NOSCRIPT (Redis restarted or its scripts were flushed) sends it again as an EVAL. A
 * NOSCRIPT means the script did not run, so sending it again never runs it twice.
 * Not ioredis' `defineCommand` (which does the same): on this auto-pipelined client, a command
 * defined after the client's first auto-pipeline of a tick misaligns that pipeline's replies
 * (`TypeError: results[i] is not iterable`, uncaught; redis/ioredis#1931, fixed by #2180 after
 * 6.0.0, the latest release). Two pipelining tests fail with it. Swap back once a release has it.
 */
export function evalScript(redis: Redis, lua: string): (numKeys: number, ...args: string[]) => Promise<unknown> {
  const sha = createHash('sha1').update(lua).digest('hex');
  let loaded = false;
  return (numKeys, ...args) => {
    if (!loaded) {
      loaded = true;
      return redis.eval(lua, numKeys, ...args);
    }
    return redis.evalsha(sha, numKeys, ...args).catch((err: unknown) => {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(lua, numKeys, ...args);
    });
  };
}

/** HGETALL's reply as a script returns it (field, value, field, value…) as ioredis' `hgetall` gives it. */
function pairsToObject(flat: unknown[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1]);
  return out;
}

// KEYS[1] the operation's lease, KEYS[2] its record (one hash tag). ARGV[1] our token, ARGV[2] ttl,
// optional ARGV[3] the steps of a fresh run, ARGV[4] now and ARGV[5] the operation's kind: then, if
// the record is of that kind and still as submitted (queued, no attempt, progress {}), it is marked
// running as `markRunning` does.
// If the lease is now ours: {the record (HGETALL, empty when missing) as read, 1 if marked else 0}; else nil.
const LEASE_AND_READ_LUA = `if not redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return false end
local h = redis.call('hgetall', KEYS[2])
if not ARGV[3] or #h == 0 then return {h, 0} end
local f = {}
for i = 1, #h, 2 do f[h[i]] = h[i + 1] end
if f.kind ~= ARGV[5] or f.status ~= 'queued' or (f.attempts or '0') ~= '0' or f.progress ~= '{}' then return {h, 0} end
redis.call('hset', KEYS[2], 'status', 'running', 'attempts', '1', 'steps', ARGV[3], 'updatedAt', ARGV[4])
return {h, 1}`;
// KEYS[1] the operation's lease, KEYS[2] its record (one hash tag). ARGV[1] our token, ARGV[2]
// progress, ARGV[3] steps, ARGV[4] now. As `saveProgress` without a lease, only if the lease is
// still ours: 1 written, 0 not (the lease key holds another token or none): nothing written.
const PROGRESS_UNDER_LEASE_LUA = `if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('hset', KEYS[2], 'progress', ARGV[2], 'steps', ARGV[3], 'updatedAt', ARGV[4])
return 1`;
const RENEW_LUA = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
// KEYS[1] lease, KEYS[2] liveness key of its holder (same hash slot). ARGV[1] the holder's value, ARGV[2] ours, ARGV[3] ttl.
const TAKEOVER_LUA = `if redis.call('get', KEYS[1]) == ARGV[1] and redis.call('exists', KEYS[2]) == 0 then redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 else return 0 end`;
const RELEASE_LUA = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
/**
 * The write of a last-known copy (`last-known.ts`), shared by its two writers (`LAST_KNOWN_SET_LUA`
 * and `SUCCEEDED_LUA`): SET key record EX ttl, unless the copy stored there was confirmed later
 * than this one (its `at` is greater). A read answered after a write's copy was stored must not
 * put the state from before the write back. Equal `at` replaces; a stored record whose `at` does
 * not parse (none, another format) is replaced. GETRANGE: `at` is in the record's first bytes,
 * a sealed merchant need not be copied whole. Returns 1 when written, 0 when refused.
 */
const SET_COPY_LUA = `local function set_copy(key, record, ttl)
  local at = tonumber(string.match(record, '^{"v":%d+,"at":(%d+)'))
  local held = tonumber(string.match(redis.call('getrange', key, 0, 63), '^{"v":%d+,"at":(%d+)'))
  if at and held and held > at then return 0 end
  redis.call('set', key, record, 'EX', ttl)
  return 1
end
`;
// KEYS[1] the copy's key, ARGV[1] its record, ARGV[2] its TTL in s. 1 written, 0 a later copy kept.
export const LAST_KNOWN_SET_LUA = `${SET_COPY_LUA}return set_copy(KEYS[1], ARGV[1], ARGV[2])`;
// KEYS[1] operation record, KEYS[2] its dead letter, KEYS[3] its lease, optional KEYS[4] the
// resource's last-known copy (one hash tag). ARGV[1] resource, ARGV[2] steps, ARGV[3] now,
// ARGV[4] record TTL, ARGV[5] dead letter TTL, ARGV[6] lease token ('' keeps the lease), with
// KEYS[4]: ARGV[7] the copy's record, ARGV[8] its TTL in s (not written over a later copy).
// markSucceeded + DeadLetters.resolve + Lease.release (+ LastKnownPort.remember's write).
// Returns 1, or with KEYS[4] 0 when the copy was refused (everything else is written all the same).
const SUCCEEDED_LUA = `${SET_COPY_LUA}
redis.call('hset', KEYS[1], 'status', 'succeeded', 'resource', ARGV[1], 'steps', ARGV[2], 'error', '', 'updatedAt', ARGV[3])
redis.call('pexpire', KEYS[1], ARGV[4])
local s = redis.call('hget', KEYS[2], 'state')
if s == 'open' or s == 'retrying' then
  redis.call('hset', KEYS[2], 'state', 'resolved', 'updatedAt', ARGV[3])
  redis.call('pexpire', KEYS[2], ARGV[5])
end
if ARGV[6] ~= '' and redis.call('get', KEYS[3]) == ARGV[6] then redis.call('del', KEYS[3]) end
if KEYS[4] then return set_copy(KEYS[4], ARGV[7], ARGV[8]) end
return 1
`;

export type OperationStore = ReturnType<typeof createOperationStore>;
