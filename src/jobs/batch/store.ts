import type { Redis } from 'ioredis';
import type { SettingsChangeRecord, SettingsRejection, TerminalSettings } from '../../domain/terminal-settings.ts';
import type { BatchKeys } from './keys.ts';

/**
 * State of one change in the store. `filed` = in a file of the ledger (the file's state says
 * whether TMO has it yet). `superseded` = a newer change of the terminal went out instead.
 * `failed` = refused with the whole file too often (dead letter).
 */
export type ChangeState = 'accepted' | 'filed' | 'applied' | 'rejected' | 'superseded' | 'failed';

/** The part of a change its operation's end depends on. */
export type ChangeSummary = Pick<ChangeRecord, 'operationId' | 'terminalId' | 'state' | 'reason' | 'acceptedAt' | 'resends' | 'file'>;

export interface ChangeRecord {
  operationId: string;
  terminalId: string;
  tmoMerchantId: string;
  settings: TerminalSettings;
  state: ChangeState;
  acceptedAt: string;
  updatedAt: string;
  /** order of acceptance across all changes: a later ACK of an older change never overwrites a newer applied one */
  order: number;
  file: string | null;
  recordNo: number | null;
  /** files this change went out in that TMO refused whole (NAK) */
  resends: number;
  reason: string | null;
}

/**
 * File states in the ledger: `uploading` (ledger written, `.PART` being written), `uploaded`
 * (`.PART` complete, rename next), `sent` (the `.DAT` is or was in /inbox), `acknowledged`,
 * `refused` (NAK), `abandoned` (a crash before TMO could see it: its changes went out again under
 * a new name; the name stays used).
 */
export type FileState = 'uploading' | 'uploaded' | 'sent' | 'acknowledged' | 'refused' | 'abandoned';

export interface FileRecord {
  name: string;
  date: string;
  seq: number;
  state: FileState;
  records: number;
  bytes: number | null;
  createdAt: string;
  uploadedAt: string | null;
  sentAt: string | null;
  answeredAt: string | null;
  /** TMO's processing day from the ACK */
  processedOn: string | null;
  applied: number;
  rejected: number;
  /** NAK reason, or why the file was abandoned */
  reason: string | null;
  /** a DUP arrived for this name (never replaces the first answer) */
  duplicateAt: string | null;
  /** the last answer for this name could not be read (moved to /outbox/error) */
  answerError: string | null;
}

// KEYS: pending, new change, terminal, expected old change (or the new one), change-order counter,
// the new change's operation record, the old change's operation record (or the new one's).
// ARGV: terminal id, operation id, expected old operation id ('' = none), now, MID, settings JSON,
// n = how many ARGVs follow for the new operation record (field/value pairs), those, then the
// field/value pairs closing the old operation (failed: superseded).
// One step: the operation record, the change, the terminal's pending slot and the superseded
// operation's end are written together or not at all (a crash cannot leave one without the other).
const ACCEPT_LUA = `
local cur = redis.call('hget', KEYS[1], ARGV[1]) or ''
if cur ~= ARGV[3] then return {'retry', cur} end
local n = tonumber(ARGV[7])
redis.call('hset', KEYS[6], unpack(ARGV, 8, 7 + n))
local order = redis.call('incr', KEYS[5])
redis.call('hset', KEYS[2], 'id', ARGV[2], 'terminalId', ARGV[1], 'tmoMerchantId', ARGV[5], 'settings', ARGV[6],
  'state', 'accepted', 'acceptedAt', ARGV[4], 'updatedAt', ARGV[4], 'order', order, 'resends', 0)
redis.call('hset', KEYS[1], ARGV[1], ARGV[2])
redis.call('hset', KEYS[3], 'latest', ARGV[2])
if ARGV[3] ~= '' then
  redis.call('hset', KEYS[4], 'state', 'superseded', 'reason', 'terminal.settings_superseded', 'updatedAt', ARGV[4])
  local st = redis.call('hget', KEYS[7], 'status')
  if #ARGV > 7 + n and (st == 'running' or st == 'queued') then
    redis.call('hset', KEYS[7], unpack(ARGV, 8 + n, #ARGV))
  end
end
return {'ok', ARGV[3]}
`;

// KEYS: pending, file records list, file terminals set, then change hashes. ARGV: file name, now.
// Claims each change still the terminal's pending one: out of pending, onto the file's list.
// A terminal already claimed into this file is skipped: a newer change accepted while the file
// was being claimed (HSCAN may return its terminal again) stays pending for the next file.
const CLAIM_LUA = `
local n = redis.call('llen', KEYS[2])
local claimed = 0
for i = 4, #KEYS do
  local tid = redis.call('hget', KEYS[i], 'terminalId')
  local op = redis.call('hget', KEYS[i], 'id')
  if tid and op and redis.call('hget', KEYS[1], tid) == op and redis.call('sadd', KEYS[3], tid) == 1 then
    redis.call('hdel', KEYS[1], tid)
    n = n + 1
    redis.call('rpush', KEYS[2], op)
    redis.call('hset', KEYS[i], 'state', 'filed', 'file', ARGV[1], 'recordNo', n, 'updatedAt', ARGV[2])
    claimed = claimed + 1
  end
end
return claimed
`;

// KEYS: pending, then change hashes. ARGV: file name, now, mode ('recover' | 'nak'), max resends, reason.
// A change still filed in that file goes back to pending, unless a newer change of its terminal
// is pending (superseded) or, after a NAK, it has been refused too often (failed).
const RELEASE_LUA = `
local out = {}
for i = 2, #KEYS do
  local r = 'noop'
  if redis.call('hget', KEYS[i], 'state') == 'filed' and redis.call('hget', KEYS[i], 'file') == ARGV[1] then
    local tid = redis.call('hget', KEYS[i], 'terminalId')
    local dead = false
    if ARGV[3] == 'nak' then
      redis.call('hset', KEYS[i], 'lastRefusal', ARGV[5])
      if redis.call('hincrby', KEYS[i], 'resends', 1) > tonumber(ARGV[4]) then dead = true end
    end
    if dead then
      redis.call('hset', KEYS[i], 'state', 'failed', 'reason', ARGV[5], 'updatedAt', ARGV[2])
      r = 'failed'
    elseif redis.call('hexists', KEYS[1], tid) == 1 then
      redis.call('hset', KEYS[i], 'state', 'superseded', 'reason', 'terminal.settings_superseded', 'updatedAt', ARGV[2])
      r = 'superseded'
    else
      redis.call('hset', KEYS[1], tid, redis.call('hget', KEYS[i], 'id'))
      redis.call('hset', KEYS[i], 'state', 'accepted', 'updatedAt', ARGV[2])
      redis.call('hdel', KEYS[i], 'file', 'recordNo')
      r = 'released'
    end
  end
  out[#out + 1] = r
end
return out
`;

// KEYS: (change, terminal) pairs. ARGV: file name, now, then (outcome, reason) per pair.
// Applies TMO's result to a change still filed in that file; an applied change becomes the
// terminal's applied settings unless a newer one was applied already.
const RESULT_LUA = `
local done = 0
for i = 1, #KEYS, 2 do
  local c = KEYS[i]
  local t = KEYS[i + 1]
  local j = 3 + (i - 1)
  local outcome = ARGV[j]
  local reason = ARGV[j + 1]
  if redis.call('hget', c, 'state') == 'filed' and redis.call('hget', c, 'file') == ARGV[1] then
    redis.call('hset', c, 'state', outcome, 'updatedAt', ARGV[2])
    if outcome == 'rejected' then
      redis.call('hset', c, 'reason', reason)
    else
      local order = tonumber(redis.call('hget', c, 'order') or '0')
      local appliedOrder = tonumber(redis.call('hget', t, 'appliedOrder') or '0')
      if order > appliedOrder then
        redis.call('hset', t, 'applied', redis.call('hget', c, 'settings'), 'appliedOrder', order, 'appliedAt', ARGV[2],
          'appliedFile', ARGV[1], 'appliedOperationId', redis.call('hget', c, 'id'))
      end
    end
    done = done + 1
  end
end
return done
`;

const CHUNK = 500;

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function toChange(h: Record<string, string>): ChangeRecord | null {
  if (!h.id || !h.terminalId || !h.settings) return null;
  return {
    operationId: h.id,
    terminalId: h.terminalId,
    tmoMerchantId: h.tmoMerchantId ?? '',
    settings: JSON.parse(h.settings) as TerminalSettings,
    state: (h.state ?? 'accepted') as ChangeState,
    acceptedAt: h.acceptedAt ?? '',
    updatedAt: h.updatedAt ?? '',
    order: Number(h.order ?? 0),
    file: h.file || null,
    recordNo: h.recordNo ? Number(h.recordNo) : null,
    resends: Number(h.resends ?? 0),
    reason: h.reason || null,
  };
}

function toFile(h: Record<string, string>): FileRecord | null {
  if (!h.name) return null;
  const opt = (v: string | undefined) => (v ? v : null);
  return {
    name: h.name,
    date: h.date ?? '',
    seq: Number(h.seq ?? 0),
    state: (h.state ?? 'uploading') as FileState,
    records: Number(h.records ?? 0),
    bytes: h.bytes ? Number(h.bytes) : null,
    createdAt: h.createdAt ?? '',
    uploadedAt: opt(h.uploadedAt),
    sentAt: opt(h.sentAt),
    answeredAt: opt(h.answeredAt),
    processedOn: opt(h.processedOn),
    applied: Number(h.applied ?? 0),
    rejected: Number(h.rejected ?? 0),
    reason: opt(h.reason),
    duplicateAt: opt(h.duplicateAt),
    answerError: opt(h.answerError),
  };
}

export interface TerminalSettingsRecord {
  applied: { settings: TerminalSettings; appliedAt: string; file: string; operationId: string } | null;
  latestOperationId: string | null;
}

/** The settings exchange's Redis store: changes, pending set, per-terminal view and the file ledger. */
export function createBatchStore(redis: Redis, keys: BatchKeys) {
  return {
    /**
     * Records an accepted change as its terminal's pending one, together with its operation
     * record (`operation`: key and fields) in one atomic step. A pending older change of the
     * terminal is superseded (returned) and its operation closed in the same step with the
     * fields `closeSuperseded` gives for it; a change already in a file is not touched: the newer
     * one goes out in the next file.
     */
    async accept(
      change: { operationId: string; terminalId: string; tmoMerchantId: string; settings: TerminalSettings },
      now: string,
      ops: {
        operation: { key: string; fields: Record<string, string | number> };
        closeSuperseded: (old: Pick<ChangeSummary, 'operationId' | 'acceptedAt' | 'resends'>) => { key: string; fields: Record<string, string | number> };
      },
    ): Promise<{ superseded: string | null }> {
      const opArgs = Object.entries(ops.operation.fields).flatMap(([k, v]) => [k, String(v)]);
      for (let attempt = 0; attempt < 20; attempt += 1) {
        const expected = (await redis.hget(keys.pending, change.terminalId)) ?? '';
        let close: { key: string; fields: Record<string, string | number> } | null = null;
        if (expected) {
          const [acceptedAt, resends] = await redis.hmget(keys.change(expected), 'acceptedAt', 'resends');
          close = ops.closeSuperseded({ operationId: expected, acceptedAt: acceptedAt ?? '', resends: Number(resends ?? 0) });
        }
        const closeArgs = close ? Object.entries(close.fields).flatMap(([k, v]) => [k, String(v)]) : [];
        const r = (await redis.eval(
          ACCEPT_LUA,
          7,
          keys.pending,
          keys.change(change.operationId),
          keys.terminal(change.terminalId),
          expected ? keys.change(expected) : keys.change(change.operationId),
          keys.changeOrder,
          ops.operation.key,
          close ? close.key : ops.operation.key,
          change.terminalId,
          change.operationId,
          expected,
          now,
          change.tmoMerchantId,
          JSON.stringify(change.settings),
          String(opArgs.length),
          ...opArgs,
          ...closeArgs,
        )) as [string, string];
        if (r[0] === 'ok') return { superseded: r[1] || null };
      }
      throw new Error(`could not record the settings change of ${change.terminalId}: too much contention`);
    },

    async pendingCount(): Promise<number> {
      return redis.hlen(keys.pending);
    },

    /** Operation ids of the pending changes (one per terminal), in pages. */
    async *pendingOperationIds(): AsyncGenerator<string[]> {
      let cursor = '0';
      do {
        const [next, flat] = await redis.hscan(keys.pending, cursor, 'COUNT', 1000);
        cursor = next;
        const ids: string[] = [];
        for (let i = 1; i < flat.length; i += 2) ids.push(flat[i] ?? '');
        if (ids.length > 0) yield ids;
      } while (cursor !== '0');
    },

    /** The file's claim is over: its terminal set (used only while claiming) goes. */
    async endClaim(fileName: string): Promise<void> {
      await redis.unlink(keys.fileTerminals(fileName));
    },

    /** Moves the given pending changes into the file's record list (a terminal at most once); returns how many it took. */
    async claim(fileName: string, operationIds: string[], now: string): Promise<number> {
      let claimed = 0;
      for (const part of chunks(operationIds)) {
        claimed += (await redis.eval(
          CLAIM_LUA,
          3 + part.length,
          keys.pending,
          keys.fileRecords(fileName),
          keys.fileTerminals(fileName),
          ...part.map(keys.change),
          fileName,
          now,
        )) as number;
      }
      return claimed;
    },

    /** Changes of a file back to pending (see RELEASE_LUA); the outcome per operation id. */
    async release(
      fileName: string,
      operationIds: string[],
      mode: { kind: 'recover' } | { kind: 'nak'; maxResends: number; reason: string },
      now: string,
    ): Promise<Map<string, 'released' | 'superseded' | 'failed' | 'noop'>> {
      const out = new Map<string, 'released' | 'superseded' | 'failed' | 'noop'>();
      for (const part of chunks(operationIds)) {
        const args = mode.kind === 'nak' ? ['nak', String(mode.maxResends), mode.reason] : ['recover', '0', ''];
        const r = (await redis.eval(RELEASE_LUA, 1 + part.length, keys.pending, ...part.map(keys.change), fileName, now, ...args)) as string[];
        part.forEach((id, i) => out.set(id, (r[i] ?? 'noop') as 'released'));
      }
      return out;
    },

    /** Applies ACK results; returns how many changes this call moved (0 when already applied). */
    async applyResults(
      fileName: string,
      results: { operationId: string; terminalId: string; outcome: 'applied' | 'rejected'; reason: SettingsRejection | null }[],
      now: string,
    ): Promise<number> {
      let done = 0;
      for (const part of chunks(results)) {
        const ks = part.flatMap((r) => [keys.change(r.operationId), keys.terminal(r.terminalId)]);
        const args = part.flatMap((r) => [r.outcome, r.reason ?? '']);
        done += (await redis.eval(RESULT_LUA, ks.length, ...ks, fileName, now, ...args)) as number;
      }
      return done;
    },

    async getChange(operationId: string): Promise<ChangeRecord | null> {
      return toChange(await redis.hgetall(keys.change(operationId)));
    },

    /** What closing an operation needs of each change (no settings), in the given order; pipelined. */
    async getChangeStates(operationIds: string[]): Promise<(ChangeSummary | null)[]> {
      const out: (ChangeSummary | null)[] = [];
      for (const part of chunks(operationIds, 2000)) {
        const pipe = redis.pipeline();
        for (const id of part) pipe.hmget(keys.change(id), 'id', 'terminalId', 'state', 'reason', 'acceptedAt', 'resends', 'file');
        for (const [, v] of (await pipe.exec()) ?? []) {
          const [operationId, terminalId, state, reason, acceptedAt, resends, file] = (v ?? []) as (string | null)[];
          out.push(
            operationId && terminalId && state
              ? { operationId, terminalId, state: state as ChangeState, reason: reason || null, acceptedAt: acceptedAt ?? '', resends: Number(resends ?? 0), file: file || null }
              : null,
          );
        }
      }
      return out;
    },

    /** The file's records as change records, streamed in record order (for the writer). */
    async *fileChanges(fileName: string, page = 1000): AsyncGenerator<SettingsChangeRecord> {
      for (let start = 0; ; start += page) {
        const ids = await redis.lrange(keys.fileRecords(fileName), start, start + page - 1);
        if (ids.length === 0) return;
        const pipe = redis.pipeline();
        for (const id of ids) pipe.hmget(keys.change(id), 'terminalId', 'tmoMerchantId', 'settings');
        const rows = (await pipe.exec()) ?? [];
        for (const [i, [err, v]] of rows.entries()) {
          const [terminalId, tmoMerchantId, settings] = (v ?? []) as (string | null)[];
          if (err || !terminalId || !tmoMerchantId || !settings) throw new Error(`ledger of ${fileName}: change ${ids[i] ?? '?'} is missing`);
          yield { terminalId, tmoMerchantId, settings: JSON.parse(settings) as TerminalSettings };
        }
        if (ids.length < page) return;
      }
    },

    /** How many records the file has. */
    async fileRecordCount(fileName: string): Promise<number> {
      return redis.llen(keys.fileRecords(fileName));
    },

    /** The file's operation ids in record order, a page at a time (`start`: 0-based index of the first). */
    async *fileOperationIdPages(fileName: string, page = 1000): AsyncGenerator<{ start: number; ids: string[] }> {
      for (let start = 0; ; start += page) {
        const ids = await redis.lrange(keys.fileRecords(fileName), start, start + page - 1);
        if (ids.length > 0) yield { start, ids };
        if (ids.length < page) return;
      }
    },

    /** The terminal id of each change (null when it is missing), pipelined. */
    async getTerminalIds(operationIds: string[]): Promise<(string | null)[]> {
      const pipe = redis.pipeline();
      for (const id of operationIds) pipe.hget(keys.change(id), 'terminalId');
      return ((await pipe.exec()) ?? []).map(([err, v]) => (err ? null : ((v as string | null) ?? null)));
    },

    async terminal(terminalId: string): Promise<TerminalSettingsRecord> {
      const h = await redis.hgetall(keys.terminal(terminalId));
      return {
        applied: h.applied
          ? { settings: JSON.parse(h.applied) as TerminalSettings, appliedAt: h.appliedAt ?? '', file: h.appliedFile ?? '', operationId: h.appliedOperationId ?? '' }
          : null,
        latestOperationId: h.latest || null,
      };
    },

    /** Next sequence number of a day (`YYYYMMDD`); the counter lives a week after its day. */
    async nextSeq(compactDate: string): Promise<number> {
      const [[, seq]] = ((await redis.multi().incr(keys.seq(compactDate)).expire(keys.seq(compactDate), 8 * 86_400).exec()) ?? [[null, 0]]) as [
        [unknown, number],
      ];
      return seq;
    },

    async createFile(f: { name: string; date: string; seq: number }, now: string): Promise<void> {
      await redis
        .multi()
        .hset(keys.file(f.name), { name: f.name, date: f.date, seq: f.seq, state: 'uploading', records: 0, createdAt: now })
        .zadd(keys.files, Date.parse(now), f.name)
        .sadd(keys.open, f.name)
        .exec();
    },

    async updateFile(name: string, fields: Record<string, string | number>, opts: { closed?: boolean } = {}): Promise<void> {
      const m = redis.multi().hset(keys.file(name), fields);
      if (opts.closed) m.srem(keys.open, name);
      await m.exec();
    },

    /** Sets a field only once (first DUP, first overdue alert); true when this call set it. */
    async setFileFieldOnce(name: string, field: string, value: string): Promise<boolean> {
      return (await redis.hsetnx(keys.file(name), field, value)) === 1;
    },

    async getFile(name: string): Promise<FileRecord | null> {
      return toFile(await redis.hgetall(keys.file(name)));
    },

    async openFiles(): Promise<string[]> {
      return redis.smembers(keys.open);
    },

    /** Newest first; `before` is a creation time (ms) cursor. */
    async listFiles(limit: number, before?: number): Promise<{ files: FileRecord[]; next: number | null }> {
      const rows = await redis.zrevrangebyscore(keys.files, before === undefined ? '+inf' : `(${before}`, '-inf', 'WITHSCORES', 'LIMIT', 0, limit + 1);
      const names: { name: string; score: number }[] = [];
      for (let i = 0; i + 1 < rows.length; i += 2) names.push({ name: rows[i] ?? '', score: Number(rows[i + 1]) });
      const page = names.slice(0, limit);
      const pipe = redis.pipeline();
      for (const n of page) pipe.hgetall(keys.file(n.name));
      const hashes = (await pipe.exec()) ?? [];
      const files = hashes.map(([, h]) => toFile((h ?? {}) as Record<string, string>)).filter((f): f is FileRecord => f !== null);
      return { files, next: names.length > limit ? (page.at(-1)?.score ?? null) : null };
    },
  };
}

export type BatchStore = ReturnType<typeof createBatchStore>;
