/**
 * The terminal snapshot read model in Redis: one *generation* per applied snapshot, staged in
 * full and then made current by one atomic pointer swap, so a reader sees the old snapshot or
 * the new one, never half of each, and a corrupt or interrupted import leaves nothing behind.
 *
 * Every key sits on the deployment's Redis Cluster hash tag (`{p}`, src/jobs/keys.ts), so the
 * multi-key scripts below run on one slot:
 *
 * | key | type | what |
 * | --- | --- | --- |
 * | `{p}:termstat:current` | string | `<generation>\|<snapshot date>` of the applied snapshot |
 * | `{p}:termstat:seq` | string | generation counter (INCR) |
 * | `{p}:termstat:gens` | set | generations that have keys (staged, current, or left by a crash) |
 * | `{p}:termstat:g:<gen>:b:<bucket>` | hash | TID → `<status>\|<lastSeenAt>\|<transactions>\|<amount>` (32,768 buckets: small hashes stay listpack-encoded, about half the memory of one big hash) |
 * | `{p}:termstat:g:<gen>:changes` | list | `<TID>\|<MID>\|<from>\|<to>` status changes against the generation it replaced, until emitted |
 * | `{p}:termstat:lock` | string, PX | the one process importing now |
 * | `{p}:termstat:run:<id>` | hash | one import run (ops API) |
 * | `{p}:termstat:runs` | zset | run ids by start time |
 * | `{p}:termstat:open` | set | runs not finished (resumed after a crash) |
 *
 * Stored statuses are one letter of the API vocabulary (`p`ending, `a`ctive, `s`uspended,
 * `d`ecommissioned), never a legacy code.
 */
import type { Redis } from 'ioredis';
import type { LifecycleStatus } from '../../domain/model.ts';
import type { TerminalActivityPort, TerminalSnapshotRecord, TerminalSnapshotView } from '../../domain/terminal-snapshot.ts';
import { createKeys } from '../keys.ts';

export const BUCKETS = 32_768;

const LETTER: Record<LifecycleStatus, string> = { pending: 'p', active: 'a', suspended: 's', decommissioned: 'd' };
const STATUS: Readonly<Record<string, LifecycleStatus>> = { p: 'pending', a: 'active', s: 'suspended', d: 'decommissioned' };

/** Status from its stored letter. */
export function statusOfLetter(letter: string): LifecycleStatus {
  const s = STATUS[letter];
  if (!s) throw new Error(`unknown stored status letter ${letter}`);
  return s;
}

/** FNV-1a of the TID, folded to a bucket. Readers and writers must agree on it. */
export function bucketOf(terminalId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < terminalId.length; i++) {
    h ^= terminalId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) & (BUCKETS - 1);
}

export function snapshotKeys(prefix: string) {
  // on the deployment's hash tag, like every other key (src/jobs/keys.ts)
  const tag = `${createKeys(prefix).prefix}:termstat`;
  return {
    tag,
    current: `${tag}:current`,
    seq: `${tag}:seq`,
    gens: `${tag}:gens`,
    bucketPrefix: (gen: number) => `${tag}:g:${gen}:b:`,
    changes: (gen: number) => `${tag}:g:${gen}:changes`,
    lock: `${tag}:lock`,
    run: (id: string) => `${tag}:run:${id}`,
    runs: `${tag}:runs`,
    open: `${tag}:open`,
  } as const;
}
export type SnapshotKeys = ReturnType<typeof snapshotKeys>;

/** The applied snapshot: generation and ISO date, or null before the first import. */
export interface CurrentSnapshot {
  gen: number;
  snapshotDate: string;
}

export function parseCurrent(raw: string | null): CurrentSnapshot | null {
  if (!raw) return null;
  const [gen, date] = raw.split('|');
  return { gen: Number(gen), snapshotDate: date ?? '' };
}

export function formatCurrent(c: CurrentSnapshot): string {
  return `${c.gen}|${c.snapshotDate}`;
}

/**
 * Stages a batch of records into generation KEYS and diffs their status against the current
 * generation. KEYS[1] the changes list, then per record its staging bucket and its current
 * bucket. ARGV[1] '1' when there is a current generation; then per record TID, value, MID,
 * line. Returns { status changes added, line of a duplicate TID or '' }.
 */
const STAGE_LUA = `
local hasCurrent = ARGV[1] == '1'
local changes = 0
local n = (#KEYS - 1) / 2
for i = 0, n - 1 do
  local a = 2 + 4 * i
  local tid = ARGV[a]
  local value = ARGV[a + 1]
  if redis.call('hset', KEYS[2 + 2 * i], tid, value) == 0 then return { changes, ARGV[a + 3] } end
  if hasCurrent then
    local old = redis.call('hget', KEYS[3 + 2 * i], tid)
    if old then
      local from = string.sub(old, 1, 1)
      local to = string.sub(value, 1, 1)
      if from ~= to then
        redis.call('rpush', KEYS[1], tid .. '|' .. ARGV[a + 2] .. '|' .. from .. '|' .. to)
        changes = changes + 1
      end
    end
  end
end
return { changes, '' }
`;

/**
 * The swap. KEYS[1] current pointer, KEYS[2] the run hash. ARGV[1] the pointer value the diff
 * was made against ('' for none), ARGV[2] the new pointer, ARGV[3] now, ARGV[4] the stream id
 * emission starts after. 'ok', or 'moved' when another snapshot was applied meanwhile.
 */
const SWAP_LUA = `
local cur = redis.call('get', KEYS[1]) or ''
if cur ~= ARGV[1] then return 'moved' end
redis.call('set', KEYS[1], ARGV[2])
redis.call('hset', KEYS[2], 'phase', 'emitting', 'swappedAt', ARGV[3], 'previous', ARGV[1], 'emitFrom', ARGV[4])
return 'ok'
`;

/** The stored value of a record: status letter, last seen, transactions, amount. */
export function recordValue(r: TerminalSnapshotRecord): string {
  return `${LETTER[r.status]}|${r.lastSeenAt ?? ''}|${r.transactionCount}|${r.amount.amount}`;
}

/** A staged generation being filled: batches go out pipelined, with bounded batches in flight. */
export interface Staging {
  readonly gen: number;
  /** queues the records; resolves once the in-flight window has room again */
  add(records: readonly TerminalSnapshotRecord[]): Promise<void>;
  /** waits for every batch; the status changes found */
  finish(): Promise<{ changes: number }>;
}

export class DuplicateTerminalError extends Error {
  constructor(readonly line: number) {
    super(`line ${line}: the TID appears twice in the snapshot`);
  }
}

/** Opens a new generation for staging against `base` (the current snapshot, or null). */
export async function openStaging(
  redis: Redis,
  keys: SnapshotKeys,
  base: CurrentSnapshot | null,
  opts: { batchSize?: number; inFlight?: number } = {},
): Promise<Staging> {
  const stageSha = (await redis.script('LOAD', STAGE_LUA)) as string;
  const gen = await redis.incr(keys.seq);
  await redis.sadd(keys.gens, String(gen));
  const batchSize = opts.batchSize ?? 1_000;
  const maxInFlight = opts.inFlight ?? 8;
  const stagePrefix = keys.bucketPrefix(gen);
  const basePrefix = base ? keys.bucketPrefix(base.gen) : stagePrefix;
  const changesKey = keys.changes(gen);
  const hasCurrent = base ? '1' : '0';
  let changes = 0;
  let failure: unknown = null;
  const inFlight = new Set<Promise<void>>();
  let keysArg: string[] = [changesKey];
  let args: string[] = [hasCurrent];

  const send = (): void => {
    if (keysArg.length === 1) return;
    const k = keysArg;
    const a = args;
    keysArg = [changesKey];
    args = [hasCurrent];
    const p = (redis.evalsha as unknown as (...x: unknown[]) => Promise<[number, string]>)
      .call(redis, stageSha, k.length, ...k, ...a)
      .catch((err: unknown) => {
        if (String((err as Error).message).includes('NOSCRIPT')) {
          return redis.eval(STAGE_LUA, k.length, ...k, ...a) as Promise<[number, string]>;
        }
        throw err;
      })
      .then(
        ([n, dupLine]) => {
          changes += Number(n);
          if (dupLine !== '' && failure === null) failure = new DuplicateTerminalError(Number(dupLine));
        },
        (err: unknown) => {
          if (failure === null) failure = err;
        },
      )
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  return {
    gen,
    async add(records) {
      if (failure) throw failure;
      for (const r of records) {
        const bucket = bucketOf(r.terminalId);
        keysArg.push(stagePrefix + bucket, basePrefix + bucket);
        args.push(r.terminalId, recordValue(r), r.tmoMerchantId, String(r.line));
        if (keysArg.length > 2 * batchSize) send();
      }
      while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
      if (failure) throw failure;
    },
    async finish() {
      send();
      await Promise.all(inFlight);
      if (failure) throw failure;
      return { changes };
    },
  };
}

/** Atomically makes `gen` current if `base` still is; false when another snapshot got there first. */
export async function swap(
  redis: Redis,
  keys: SnapshotKeys,
  args: { base: CurrentSnapshot | null; next: CurrentSnapshot; runId: string; emitFrom: string },
): Promise<boolean> {
  const result = await redis.eval(
    SWAP_LUA,
    2,
    keys.current,
    keys.run(args.runId),
    args.base ? formatCurrent(args.base) : '',
    formatCurrent(args.next),
    new Date().toISOString(),
    args.emitFrom,
  );
  return result === 'ok';
}

/** Removes a generation's keys (UNLINK: freed in the background, Redis never blocks on 2 M fields). */
export async function dropGeneration(redis: Redis, keys: SnapshotKeys, gen: number): Promise<void> {
  const prefix = keys.bucketPrefix(gen);
  for (let from = 0; from < BUCKETS; from += 2_048) {
    const batch: string[] = [];
    for (let b = from; b < Math.min(BUCKETS, from + 2_048); b++) batch.push(prefix + b);
    await redis.unlink(...batch);
  }
  await redis.unlink(keys.changes(gen));
  await redis.srem(keys.gens, String(gen));
}

/** Drops every generation but the current one (left by corrupt files or crashed runs). */
export async function dropStaleGenerations(redis: Redis, keys: SnapshotKeys): Promise<number> {
  const current = parseCurrent(await redis.get(keys.current));
  const gens = (await redis.smembers(keys.gens)).map(Number).filter((g) => g !== current?.gen);
  for (const g of gens) await dropGeneration(redis, keys, g);
  return gens.length;
}

type TerminalActivityView = TerminalSnapshotView;

/**
 * Reads one terminal from the current snapshot. The pointer is cached for `pointerTtlMs`
 * (default 1 s): a read that races a swap and finds its generation gone retries once with a
 * fresh pointer.
 */
export function createTerminalActivityReader(deps: { redis: Redis; prefix: string; pointerTtlMs?: number }): TerminalActivityPort {
  const keys = snapshotKeys(deps.prefix);
  const ttl = deps.pointerTtlMs ?? 1_000;
  let cached: { at: number; current: CurrentSnapshot | null } | null = null;

  async function pointer(fresh: boolean): Promise<CurrentSnapshot | null> {
    if (!fresh && cached && Date.now() - cached.at < ttl) return cached.current;
    const current = parseCurrent(await deps.redis.get(keys.current));
    cached = { at: Date.now(), current };
    return current;
  }

  async function read(terminalId: string, fresh: boolean): Promise<TerminalActivityView | null | 'stale'> {
    const current = await pointer(fresh);
    if (!current) return null;
    const raw = await deps.redis.hget(keys.bucketPrefix(current.gen) + bucketOf(terminalId), terminalId);
    if (raw === null) return fresh ? null : 'stale';
    const [, lastSeen, count, amount] = raw.split('|');
    return {
      lastSeenAt: lastSeen ? lastSeen : null,
      activity: {
        date: current.snapshotDate,
        transactionCount: Number(count),
        amount: { amount: Number(amount), currency: 'EUR' },
      },
    };
  }

  return {
    /** The terminal in the latest applied snapshot, or null (no snapshot yet, or not in it). */
    async getTerminalActivity(terminalId: string): Promise<TerminalActivityView | null> {
      const first = await read(terminalId, false);
      if (first !== 'stale') return first;
      const second = await read(terminalId, true);
      return second === 'stale' ? null : second;
    },
  };
}
