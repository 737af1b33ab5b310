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
 * | `{p}:termstat:g:<gen>:b:<bucket>` | hash | TID → `<status>\|<lastSeen epoch s>\|<transactions>\|<amount>` (32,768 buckets: small hashes stay listpack-encoded, about half the memory of one big hash; applied 64 buckets per script call) |
 * | `{p}:termstat:g:<gen>:in:<group>` | string | packed records of a group of 64 buckets, appended while the file is read, applied to the buckets (and deleted) once it is valid |
 * | `{p}:termstat:g:<gen>:st:<group>` | string | the group's status index: TID + status letter per record (9 bytes), what the next snapshot diffs against |
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
import {
  MERCHANT_ID_BYTES,
  TERMINAL_ID_BYTES,
  type TerminalActivityPort,
  type TerminalSnapshotRecord,
  type TerminalSnapshotSink,
  type TerminalSnapshotView,
} from '../../domain/terminal-snapshot.ts';
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
    inbox: (gen: number, group: number) => `${tag}:g:${gen}:in:${group}`,
    statusIndex: (gen: number, group: number) => `${tag}:g:${gen}:st:${group}`,
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
 * Buckets per group: a group's records are collected in one inbox string, and applied by one
 * script call (2,000,000 records: ~4,000 a call, a few ms of Redis each).
 */
const GROUP_SHIFT = 6;
export const GROUP_BUCKETS = 1 << GROUP_SHIFT;
const GROUPS = BUCKETS / GROUP_BUCKETS;
/** bytes per record in a generation's status index: TID, status letter */
const INDEX_BYTES = TERMINAL_ID_BYTES + 1;

/**
 * Packed records, as node appends them to a group's inbox (`{p}:termstat:g:<gen>:in:<group>`)
 * and the apply script reads them, one after the other:
 *
 * | bytes | what |
 * | --- | --- |
 * | 1 | bucket within the group (0–63, binary) |
 * | 8 | TID |
 * | 15 | MID (only used for a status change) |
 * | 8 | line number, zero-padded (only used to name a duplicate TID) |
 * | … | the stored value ({@link recordValue}) |
 * | 1 | `\n` |
 */
const PACKED_FIXED = 32;

/** Lua shared by the apply scripts: `per[b]` = positions (record start, its `\n`) by bucket, in file order. */
const SPLIT_LUA = `
local S = ${GROUP_BUCKETS}
local data = redis.call('get', KEYS[2]) or ''
local find, sub, byte, char = string.find, string.sub, string.byte, string.char
local per = {}
local p, len = 1, #data
while p <= len do
  local b = byte(data, p) + 1
  local nl = find(data, '\\n', p + ${PACKED_FIXED + 1}, true)
  local t = per[b]
  if t == nil then t = {}; per[b] = t end
  local n = #t
  t[n + 1] = p
  t[n + 2] = nl
  p = nl + 1
end
-- unpack() is bounded by the Lua C stack: long argument lists go in slices
local function hset(key, list, n)
  local added = 0
  for i = 1, n, 4000 do added = added + redis.call('hset', key, unpack(list, i, math.min(i + 3999, n))) end
  return added
end
`;

/**
 * Applies one group's inbox to the staged generation and diffs it against the current one: per
 * bucket one HSET of all its records (its count of new fields shows a TID twice); the current
 * statuses come from the current generation's status index of the group (TID + letter a record,
 * one GET), or — for a generation staged without one — one HGETALL per current bucket.
 * KEYS[1] the changes list, KEYS[2] the group's inbox, KEYS[3] the current generation's status
 * index of the group, KEYS[4] the staged one's, KEYS[5..] the group's staging buckets, then the
 * current buckets.
 * ARGV[1] 'apply', or 'check' (a duplicate was found: only look for duplicates); ARGV[2] '1'
 * when there is a current generation. Returns { status changes added, the first line (in this
 * group) whose TID came before, or '' } — from a duplicate on nothing more is written (the
 * generation is dropped). The inbox is deleted.
 */
const APPLY_LUA = `${SPLIT_LUA}
local apply = ARGV[1] == 'apply'
local hasBase = ARGV[2] == '1'
local changes, nc = {}, 0
local was = nil
if hasBase then
  local index = redis.call('get', KEYS[3])
  if index then
    was = {}
    for i = 1, #index, ${INDEX_BYTES} do was[sub(index, i, i + ${TERMINAL_ID_BYTES - 1})] = byte(index, i + ${TERMINAL_ID_BYTES}) end
  end
end
local dupLine = nil
local function duplicates(t)
  local seen = {}
  for i = 1, #t, 2 do
    local q = t[i]
    local tid = sub(data, q + 1, q + 8)
    if seen[tid] then
      local line = tonumber(sub(data, q + 24, q + 31))
      if dupLine == nil or line < dupLine then dupLine = line end
    end
    seen[tid] = true
  end
end
for b = 1, S do
  local t = per[b]
  if t and not apply then
    duplicates(t)
  elseif t then
    local n = #t / 2
    local tids, kv = {}, {}
    for i = 1, n do
      local q = t[2 * i - 1]
      local tid = sub(data, q + 1, q + 8)
      tids[i] = tid
      kv[2 * i - 1] = tid
      kv[2 * i] = sub(data, q + ${PACKED_FIXED}, t[2 * i] - 1)
    end
    if hset(KEYS[4 + b], kv, 2 * n) ~= n then
      apply = false
      duplicates(t)
    elseif hasBase then
      local prev = was
      if prev == nil then
        -- no status index: the whole current bucket in one pass
        prev = {}
        local flat = redis.call('hgetall', KEYS[4 + S + b])
        for i = 1, #flat, 2 do prev[flat[i]] = byte(flat[i + 1], 1) end
      end
      for i = 1, n do
        local from = prev[tids[i]]
        if from then
          local q = t[2 * i - 1]
          local to = byte(data, q + ${PACKED_FIXED})
          if from ~= to then
            nc = nc + 1
            changes[nc] = tids[i] .. '|' .. sub(data, q + 9, q + 23) .. '|' .. char(from) .. '|' .. char(to)
          end
        end
      end
    end
  end
end
redis.call('unlink', KEYS[2])
if dupLine ~= nil then return { 0, tostring(dupLine) } end
-- the index grew by APPENDs (strings keep up to twice their length then): written again, exact
local own = redis.call('get', KEYS[4])
if own then redis.call('set', KEYS[4], own) end
for i = 1, nc, 4000 do redis.call('rpush', KEYS[1], unpack(changes, i, math.min(i + 3999, nc))) end
return { nc, '' }
`;

/**
 * The write floor bench/termstat measures the import against: the same inboxes, applied with
 * one HSET per bucket and nothing else (no duplicate check, no diff).
 */
const WRITE_ONLY_LUA = `${SPLIT_LUA}
for b = 1, S do
  local t = per[b]
  if t then
    local n = #t / 2
    local kv = {}
    for i = 1, n do
      local q = t[2 * i - 1]
      kv[2 * i - 1] = sub(data, q + 1, q + 8)
      kv[2 * i] = sub(data, q + ${PACKED_FIXED}, t[2 * i] - 1)
    end
    hset(KEYS[4 + b], kv, 2 * n)
  end
end
redis.call('unlink', KEYS[2])
return { 0, '' }
`;

/**
 * The stored value of a record: status letter, last seen (epoch seconds, empty when never),
 * transactions, amount.
 */
export function recordValue(r: TerminalSnapshotRecord): string {
  const seen = r.lastSeenAt === null ? '' : String(Math.floor(Date.parse(r.lastSeenAt) / 1000));
  return `${LETTER[r.status]}|${seen}|${r.transactionCount}|${r.amount.amount}`;
}

/**
 * A generation being staged. While the file is read, records are packed per group and appended
 * to the group's inbox (plain APPENDs: Redis does almost nothing per record); `finish()`, once
 * the whole file was valid, applies each inbox to the group's buckets with one script call.
 */
export interface Staging {
  readonly gen: number;
  /** where the parser hands records (packed into their group; a full group buffer is appended) */
  readonly sink: TerminalSnapshotSink;
  /** resolves once the bytes in flight are under the window again; throws the first failure */
  ready(): Promise<void>;
  /** appends what is left and applies every group; the status changes found */
  finish(): Promise<{ changes: number }>;
  /** the file is not applied (corrupt, failed): waits for the appends in flight, applies nothing */
  abandon(): Promise<void>;
}

export class DuplicateTerminalError extends Error {
  /** `line`: the first record whose TID came before */
  constructor(readonly line: number) {
    super(`line ${line}: the TID appears twice in the snapshot`);
  }
}

const LETTER_BYTE: Record<LifecycleStatus, number> = { pending: 0x70, active: 0x61, suspended: 0x73, decommissioned: 0x64 };
const PIPE = 0x7c;
const NL = 0x0a;

/** Writes the decimal digits of a safe integer at `at`; returns the position after them. */
function writeInt(buf: Buffer, at: number, n: number): number {
  if (n < 0) {
    buf[at++] = 0x2d;
    n = -n;
  }
  let width = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) width += 1;
  for (let i = at + width - 1; i >= at; i--) {
    buf[i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  return at + width;
}

/** FNV-1a of the TID's bytes, folded to a bucket: the same as {@link bucketOf}. */
function bucketOfBytes(bytes: Uint8Array, at: number): number {
  let h = 0x811c9dc5;
  for (let i = at; i < at + TERMINAL_ID_BYTES; i++) {
    h ^= bytes[i] as number;
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) & (BUCKETS - 1);
}

interface StagingOptions {
  /** bytes a group collects in node before they are appended to its inbox (default 8 KiB) */
  groupBytes?: number;
  /** bytes appended and not yet answered before `ready()` waits (default 4 MiB) */
  inFlightBytes?: number;
  /** apply script calls in flight (default 2) */
  applyConcurrency?: number;
}

/** Packs records into group inboxes; `finish` applies every inbox with `lua` (ARGV[1] 'apply' | 'check'). */
async function openInboxes(
  redis: Redis,
  keys: SnapshotKeys,
  gen: number,
  base: CurrentSnapshot | null,
  lua: string,
  bucketKeys: (group: number) => string[],
  opts: StagingOptions,
): Promise<Omit<Staging, 'gen'>> {
  const sha = (await redis.script('LOAD', lua)) as string;
  const groupBytes = opts.groupBytes ?? 8 * 1024;
  const maxInFlight = opts.inFlightBytes ?? 4 * 1024 * 1024;
  const capacity = groupBytes + 256;
  // a record packs to at least PACKED_FIXED + 7 bytes: its index entry fits in this
  const indexCapacity = Math.ceil(capacity / (PACKED_FIXED + 7)) * INDEX_BYTES;
  const free: Buffer[] = [];
  const freeIndex: Buffer[] = [];
  const bufs: Buffer[] = [];
  const indexBufs: Buffer[] = [];
  const used = new Int32Array(GROUPS);
  const indexUsed = new Int32Array(GROUPS);
  for (let g = 0; g < GROUPS; g++) {
    bufs.push(Buffer.allocUnsafe(capacity));
    indexBufs.push(Buffer.allocUnsafe(indexCapacity));
  }
  let failure: unknown = null;
  let inFlightBytes = 0;
  const inFlight = new Set<Promise<unknown>>();
  let wake: (() => void) | null = null;

  const track = (p: Promise<unknown>, bytes: number, release: Buffer, pool: Buffer[]): void => {
    inFlightBytes += bytes;
    const tracked = p
      .catch((err: unknown) => {
        failure ??= err;
      })
      .finally(() => {
        inFlight.delete(tracked);
        inFlightBytes -= bytes;
        pool.push(release);
        const w = wake;
        wake = null;
        w?.();
      });
    inFlight.add(tracked);
  };

  const append = (g: number): void => {
    const n = used[g] as number;
    if (n === 0) return;
    const buf = bufs[g] as Buffer;
    bufs[g] = free.pop() ?? Buffer.allocUnsafe(capacity);
    used[g] = 0;
    track(redis.append(keys.inbox(gen, g), buf.subarray(0, n)), n, buf, free);
    const m = indexUsed[g] as number;
    const index = indexBufs[g] as Buffer;
    indexBufs[g] = freeIndex.pop() ?? Buffer.allocUnsafe(indexCapacity);
    indexUsed[g] = 0;
    track(redis.append(keys.statusIndex(gen, g), index.subarray(0, m)), m, index, freeIndex);
  };

  const sink: TerminalSnapshotSink = {
    record(bytes, tidAt, midAt, status, lastSeenMs, transactionCount, amount, line) {
      if (failure !== null) return;
      const bucket = bucketOfBytes(bytes, tidAt);
      const g = bucket >>> GROUP_SHIFT;
      const index = indexBufs[g] as Buffer;
      let ix = indexUsed[g] as number;
      for (let i = 0; i < TERMINAL_ID_BYTES; i++) index[ix++] = bytes[tidAt + i] as number;
      index[ix++] = LETTER_BYTE[status];
      indexUsed[g] = ix;
      const buf = bufs[g] as Buffer;
      let at = used[g] as number;
      buf[at++] = bucket & (GROUP_BUCKETS - 1);
      for (let i = 0; i < TERMINAL_ID_BYTES; i++) buf[at++] = bytes[tidAt + i] as number;
      for (let i = 0; i < MERCHANT_ID_BYTES; i++) buf[at++] = bytes[midAt + i] as number;
      let l = line;
      for (let i = at + 7; i >= at; i--) {
        buf[i] = 0x30 + (l % 10);
        l = Math.floor(l / 10);
      }
      at += 8;
      buf[at++] = LETTER_BYTE[status];
      buf[at++] = PIPE;
      if (!Number.isNaN(lastSeenMs)) at = writeInt(buf, at, Math.floor(lastSeenMs / 1000));
      buf[at++] = PIPE;
      at = writeInt(buf, at, transactionCount);
      buf[at++] = PIPE;
      at = writeInt(buf, at, amount);
      buf[at++] = NL;
      used[g] = at;
      if (at >= groupBytes) append(g);
    },
  };

  async function ready(): Promise<void> {
    while (failure === null && inFlightBytes > maxInFlight) await new Promise<void>((r) => (wake = r));
    if (failure !== null) throw failure;
  }

  return {
    sink,
    ready,
    async abandon() {
      failure ??= new Error('staging abandoned');
      await Promise.all(inFlight);
    },
    async finish() {
      if (failure === null) for (let g = 0; g < GROUPS; g++) append(g);
      await Promise.all(inFlight);
      if (failure !== null) throw failure;
      // every record is in an inbox: apply them, group by group (a few calls in flight)
      let changes = 0;
      let duplicate: number | null = null;
      const concurrency = opts.applyConcurrency ?? 2;
      let next = 0;
      const worker = async (): Promise<void> => {
        while (failure === null && next < GROUPS) {
          const g = next++;
          const own = keys.statusIndex(gen, g);
          const k = [keys.changes(gen), keys.inbox(gen, g), base === null ? own : keys.statusIndex(base.gen, g), own, ...bucketKeys(g)];
          const mode = duplicate === null ? 'apply' : 'check';
          const hasBase = base === null ? '0' : '1';
          const call = (redis.evalsha as unknown as (...x: unknown[]) => Promise<[number, string]>).call(redis, sha, k.length, ...k, mode, hasBase);
          const [c, dupLine] = await call.catch((err: unknown) => {
            if (String((err as Error).message).includes('NOSCRIPT')) return redis.eval(lua, k.length, ...k, mode, hasBase) as Promise<[number, string]>;
            throw err;
          });
          changes += Number(c);
          if (dupLine !== '' && (duplicate === null || Number(dupLine) < duplicate)) duplicate = Number(dupLine);
        }
      };
      const workers = Array.from({ length: concurrency }, () => worker().catch((err: unknown) => void (failure ??= err)));
      await Promise.all(workers);
      if (failure !== null) throw failure;
      if (duplicate !== null) throw new DuplicateTerminalError(duplicate);
      return { changes };
    },
  };
}

/** Opens a new generation for staging against `base` (the current snapshot, or null). */
export async function openStaging(
  redis: Redis,
  keys: SnapshotKeys,
  base: CurrentSnapshot | null,
  opts: StagingOptions = {},
): Promise<Staging> {
  const gen = await redis.incr(keys.seq);
  await redis.sadd(keys.gens, String(gen));
  const stagePrefix = keys.bucketPrefix(gen);
  const basePrefix = base ? keys.bucketPrefix(base.gen) : null;
  const inboxes = await openInboxes(
    redis,
    keys,
    gen,
    base,
    APPLY_LUA,
    (g) => {
      const k: string[] = [];
      for (let b = g * GROUP_BUCKETS; b < (g + 1) * GROUP_BUCKETS; b++) k.push(stagePrefix + b);
      if (basePrefix !== null) for (let b = g * GROUP_BUCKETS; b < (g + 1) * GROUP_BUCKETS; b++) k.push(basePrefix + b);
      return k;
    },
    opts,
  );
  return { gen, ...inboxes };
}

/** bench/termstat's write floor: the same inboxes into generation `gen`, HSET only (see WRITE_ONLY_LUA). */
export async function openBareWrite(redis: Redis, keys: SnapshotKeys, gen: number, opts: StagingOptions = {}): Promise<Omit<Staging, 'gen'>> {
  const prefix = keys.bucketPrefix(gen);
  return openInboxes(
    redis,
    keys,
    gen,
    null,
    WRITE_ONLY_LUA,
    (g) => {
      const k: string[] = [];
      for (let b = g * GROUP_BUCKETS; b < (g + 1) * GROUP_BUCKETS; b++) k.push(prefix + b);
      return k;
    },
    opts,
  );
}

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

/** The hash tag of a key as Redis Cluster hashes it (the text in its first non-empty `{…}`), or the whole key. */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}

/**
 * Emits status changes `ARGV[1]`… of a generation's changes list as stream events, and records
 * how far it got in the run hash in the same atomic step, so a crash neither loses nor repeats an
 * event. KEYS[1] changes list, KEYS[2] events stream, KEYS[3] run hash (all on one hash tag).
 * ARGV[1] first index, ARGV[2] count, ARGV[3] eventId prefix, ARGV[4] snapshot date, ARGV[5]
 * MAXLEN ~. A call whose first index is not where the run stands does nothing (a pipelined call
 * after a shorter list, or one sent twice). Returns { where the run stands now, 'from|to' per event }.
 */
export const EMIT_LUA = `
local start = tonumber(ARGV[1])
local done = tonumber(redis.call('hget', KEYS[3], 'emittedAtomically') or ARGV[1])
if done ~= start then return { done, {} } end
local rows = redis.call('lrange', KEYS[1], start, start + tonumber(ARGV[2]) - 1)
local word = { p = 'pending', a = 'active', s = 'suspended', d = 'decommissioned' }
local pairs_ = {}
for i, row in ipairs(rows) do
  local tid, mid, f, t = string.match(row, '^([^|]*)|([^|]*)|(.)|(.)$')
  local from, to = word[f], word[t]
  redis.call('xadd', KEYS[2], 'MAXLEN', '~', ARGV[5], '*',
    'type', 'terminal.status_changed', 'eventId', ARGV[3] .. (start + i), 'terminalId', tid, 'merchantId', mid,
    'from', from, 'to', to, 'snapshotDate', ARGV[4])
  pairs_[i] = from .. '|' .. to
end
redis.call('hset', KEYS[3], 'emittedAtomically', start + #rows, 'emitted', start + #rows)
return { start + #rows, pairs_ }
`;

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
  const inboxes: string[] = [];
  for (let g = 0; g < GROUPS; g++) inboxes.push(keys.inbox(gen, g), keys.statusIndex(gen, g));
  await redis.unlink(keys.changes(gen), ...inboxes);
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

/** What every read answers while the cached pointer says no snapshot is applied: one settled promise, shared. */
const NO_SNAPSHOT: Promise<null> = Promise.resolve(null);

/**
 * Reads one terminal from the current snapshot. The pointer is cached for `pointerTtlMs`
 * (default 1 s): a read that races a swap and finds its generation gone retries once with a
 * fresh pointer.
 */
export function createTerminalActivityReader(deps: {
  redis: Redis;
  prefix: string;
  pointerTtlMs?: number;
  /**
   * A snapshot date → the ISO instant TMO wrote it no earlier than (the date's end in the legacy
   * time zone, from the translator). Default: that end in the easternmost zone (UTC+14), a lower
   * bound in any zone.
   */
  takenAfter?: (snapshotDate: string) => string;
}): TerminalActivityPort {
  const keys = snapshotKeys(deps.prefix);
  const takenAfter = deps.takenAfter ?? ((date: string) => new Date(Date.parse(`${date}T00:00:00Z`) + 10 * 3_600_000).toISOString());
  const ttl = deps.pointerTtlMs ?? 1_000;
  let cached: { at: number; current: CurrentSnapshot | null } | null = null;

  async function pointer(fresh: boolean): Promise<CurrentSnapshot | null> {
    if (!fresh && cached && Date.now() - cached.at < ttl) return cached.current;
    const current = parseCurrent(await deps.redis.get(keys.current));
    cached = { at: Date.now(), current };
    return current;
  }

  function toView(current: CurrentSnapshot, raw: string): TerminalActivityView {
    const [letter, lastSeen, count, amount] = raw.split('|');
    return {
      status: statusOfLetter(letter ?? ''),
      takenAfter: takenAfter(current.snapshotDate),
      // epoch seconds; an ISO instant in generations staged before the packed format
      lastSeenAt: !lastSeen ? null : /^-?\d+$/.test(lastSeen) ? new Date(Number(lastSeen) * 1000).toISOString() : lastSeen,
      activity: {
        date: current.snapshotDate,
        transactionCount: Number(count),
        amount: { amount: Number(amount), currency: 'EUR' },
      },
    };
  }

  /**
   * A read at `current`. With a cached pointer (up to `ttl` old) a miss may be a swap's (its
   * generation dropped since), so it retries once with a fresh one; with a pointer just read
   * (`fresh`) a miss is the answer: a retry would only read the same pointer again.
   */
  async function readAt(current: CurrentSnapshot, terminalId: string, fresh = false): Promise<TerminalActivityView | null> {
    const raw = await deps.redis.hget(keys.bucketPrefix(current.gen) + bucketOf(terminalId), terminalId);
    if (raw !== null) return toView(current, raw);
    return fresh ? null : readUncached(terminalId);
  }

  /** A read with a pointer read first: the expired-cache path, and the retry of a cached miss. */
  async function readUncached(terminalId: string): Promise<TerminalActivityView | null> {
    const current = await pointer(true);
    return current ? readAt(current, terminalId, true) : null;
  }

  return {
    /**
     * The terminal in the latest applied snapshot, or null (no snapshot yet, or not in it). With
     * the pointer cached (every read but one a `ttl`), one promise: none of its own and no Redis
     * call when there is no snapshot, one HGET (and its retry on a miss) when there is (issue 8).
     * With the pointer expired: its GET and one HGET, hit or miss.
     */
    getTerminalActivity(terminalId: string): Promise<TerminalActivityView | null> {
      const c = cached;
      if (c && Date.now() - c.at < ttl) return c.current ? readAt(c.current, terminalId) : NO_SNAPSHOT;
      return readUncached(terminalId);
    },
  };
}
