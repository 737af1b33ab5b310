import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors/index.ts';
import type { AuditTrail } from './audit.ts';
import type { Keys } from './keys.ts';
import type { OperationRecord, OperationStore } from './operation-store.ts';
import { maskPayload, type PayloadCipher } from './payload.ts';
import type { OperationQueues } from './queues.ts';
import { sanitizeMessage } from './sanitize.ts';
import type { LegacySystem, OperationKind, StoredError } from './types.ts';

/**
 * `open` → (`retrying` → `resolved` | `open` again) | `discarded`. Only `open` can be retried
 * or discarded: the transition is one atomic Redis script, so two concurrent retries of the
 * same dead letter enqueue exactly one job.
 */
export type DeadLetterState = 'open' | 'retrying' | 'resolved' | 'discarded';

/** Why a job ended up here. */
export type DeadLetterReason = 'not_retryable' | 'attempts_exhausted' | 'max_age' | 'stalled';

/** Dead letters that are not operations: a batch file the gateway could not apply. */
export type BatchDeadLetterKind = 'batch.termstat';

export interface DeadLetter {
  /** same as the operation id: an operation has at most one dead letter (`batch_…` for a batch file) */
  id: string;
  operationId: string;
  kind: OperationKind | BatchDeadLetterKind;
  system: LegacySystem;
  /** the step that failed, `<system>.<port method>` */
  operation: string;
  errorCode: string;
  errorKind: StoredError['kind'];
  /** sanitized */
  message: string;
  reason: DeadLetterReason;
  /** runs started for the operation in total */
  attempts: number;
  /** times this operation was dead-lettered (> 1 after a retry that failed again) */
  deadLetterCount: number;
  firstFailedAt: string;
  lastFailedAt: string;
  /** the operation input with sensitive fields masked */
  payload: unknown;
  state: DeadLetterState;
  updatedAt: string;
  /** last ops action on it */
  lastAction: { by: string; action: string; at: string; reason?: string } | null;
}

export interface DeadLetterFilter {
  system?: LegacySystem;
  errorCode?: string;
  /** last failure at or after (ISO) */
  from?: string;
  /** last failure at or before (ISO) */
  to?: string;
  /** default `open` */
  state?: DeadLetterState;
}

export interface DeadLetterSummaryRow {
  errorCode: string;
  count: number;
  systems: LegacySystem[];
  oldestFailureAt: string;
  newestFailureAt: string;
}

export interface RetryAllResult {
  matched: number;
  retried: string[];
  skipped: { id: string; state: string }[];
}

export interface DeadLetters {
  /** Worker side: park an operation (creates or re-opens its dead letter). */
  record(input: {
    op: OperationRecord;
    error: StoredError;
    system: LegacySystem;
    step: string;
    reason: DeadLetterReason;
  }): Promise<DeadLetter>;
  /** Worker side: the operation finally succeeded (after an ops retry, or a console retry). */
  resolve(operationId: string): Promise<void>;
  list(filter: DeadLetterFilter, page: { cursor?: string; limit: number }): Promise<{ items: DeadLetter[]; nextCursor: string | null }>;
  summary(filter: Omit<DeadLetterFilter, 'errorCode'>): Promise<DeadLetterSummaryRow[]>;
  get(id: string): Promise<DeadLetter | null>;
  retry(id: string, actor: string): Promise<{ id: string; state: DeadLetterState; jobId: string }>;
  /** `force`: also retry dead letters whose error is not retryable (else skipped as `not_retryable`) */
  retryAll(filter: DeadLetterFilter, actor: string, opts?: { max?: number; force?: boolean }): Promise<RetryAllResult>;
  discard(id: string, reason: string, actor: string): Promise<DeadLetter>;
}

// KEYS[1] dead letter hash. ARGV[1] now, ARGV[2] retention (ms). Open or retrying → resolved (and
// expires after the retention); anything else untouched.
/** How long a resolved or discarded dead letter stays readable (OPERATION_RETENTION_DAYS, 30 days, by default). */
export const DEFAULT_CLOSED_TTL_MS = 30 * 86_400_000;

const RESOLVE_LUA = `
local s = redis.call('hget', KEYS[1], 'state')
if s == 'open' or s == 'retrying' then
  redis.call('hset', KEYS[1], 'state', 'resolved', 'updatedAt', ARGV[1])
  redis.call('pexpire', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

// KEYS[1] dead letter hash. ARGV: expected state, new state, now, then field/value pairs.
const TRANSITION_LUA = `
local s = redis.call('hget', KEYS[1], 'state')
if not s then return 'missing' end
if s ~= ARGV[1] then return s end
redis.call('hset', KEYS[1], 'state', ARGV[2], 'updatedAt', ARGV[3])
for i = 4, #ARGV, 2 do redis.call('hset', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 'ok'
`;

interface Cursor {
  s: number;
  id: string;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(raw: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Partial<Cursor>;
    if (typeof c.s === 'number' && typeof c.id === 'string') return { s: c.s, id: c.id };
  } catch {
    // fall through
  }
  throw new ValidationError('dead_letter.invalid_cursor', 'The cursor is not one this API returned', {
    fields: [{ field: 'cursor', reason: 'invalid' }],
  });
}

function parseTime(iso: string | undefined, field: string): number | undefined {
  if (iso === undefined) return undefined;
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) {
    throw new ValidationError('dead_letter.invalid_filter', `${field} is not an ISO 8601 instant`, {
      fields: [{ field, reason: 'not an ISO 8601 instant' }],
    });
  }
  return t;
}

/**
 * The dead-letter store and its ops actions (list, summary, get, retry, bulk retry, discard).
 * Every action is written to the audit trail, including refused ones.
 */
export function createDeadLetters(deps: {
  redis: Redis;
  keys: Keys;
  store: OperationStore;
  queues: OperationQueues;
  audit: AuditTrail;
  cipher: PayloadCipher;
  /**
   * OPERATION_RETENTION_DAYS: a resolved or discarded dead letter (and a discarded one's failed
   * operation record) expires this long after it was closed. Open ones stay until an operator acts.
   */
  closedTtlMs?: number;
}): DeadLetters {
  const { redis, keys, store, queues, audit, cipher } = deps;
  const closedTtlMs = deps.closedTtlMs ?? DEFAULT_CLOSED_TTL_MS;

  /**
   * Removes index entries whose dead letter has expired. An expired one was closed at least the
   * retention ago, after its last failure, so only entries scored before now − retention are
   * looked at (at most `limit` per call; it runs on every new dead letter).
   */
  async function trimIndex(limit = 100): Promise<void> {
    const ids = await redis.zrangebyscore(keys.deadLetterIndex, '-inf', String(Date.now() - closedTtlMs), 'LIMIT', 0, limit);
    if (ids.length === 0) return;
    const pipe = redis.pipeline();
    for (const id of ids) pipe.exists(keys.deadLetter(id));
    const exists = (await pipe.exec()) ?? [];
    const gone = ids.filter((_, i) => exists[i]?.[1] === 0);
    if (gone.length > 0) await redis.zrem(keys.deadLetterIndex, ...gone);
  }

  function fromHash(h: Record<string, string>): DeadLetter | null {
    if (!h.id) return null;
    return {
      id: h.id,
      operationId: h.operationId ?? h.id,
      kind: h.kind as DeadLetter['kind'],
      system: h.system as LegacySystem,
      operation: h.operation ?? '',
      errorCode: h.errorCode ?? '',
      errorKind: (h.errorKind ?? 'unavailable') as StoredError['kind'],
      message: h.message ?? '',
      reason: (h.reason ?? 'not_retryable') as DeadLetterReason,
      attempts: Number(h.attempts ?? 0),
      deadLetterCount: Number(h.deadLetterCount ?? 1),
      firstFailedAt: h.firstFailedAt ?? '',
      lastFailedAt: h.lastFailedAt ?? '',
      payload: h.payload ? (JSON.parse(h.payload) as unknown) : null,
      state: (h.state ?? 'open') as DeadLetterState,
      updatedAt: h.updatedAt ?? '',
      lastAction: h.lastAction ? (JSON.parse(h.lastAction) as DeadLetter['lastAction']) : null,
    };
  }

  async function get(id: string): Promise<DeadLetter | null> {
    return fromHash(await redis.hgetall(keys.deadLetter(id)));
  }

  async function transition(id: string, from: DeadLetterState, to: DeadLetterState, fields: Record<string, string>) {
    const args = Object.entries(fields).flat();
    return (await redis.eval(TRANSITION_LUA, 1, keys.deadLetter(id), from, to, new Date().toISOString(), ...args)) as string;
  }

  function matches(d: DeadLetter, f: DeadLetterFilter): boolean {
    return (
      d.state === (f.state ?? 'open') &&
      (f.system === undefined || d.system === f.system) &&
      (f.errorCode === undefined || d.errorCode === f.errorCode)
    );
  }

  /** Walks the index newest first within the time range, yielding matching dead letters. */
  async function* scan(filter: DeadLetterFilter, after?: Cursor): AsyncGenerator<{ d: DeadLetter; score: number }> {
    const from = parseTime(filter.from, 'from');
    const to = parseTime(filter.to, 'to');
    let max: string = after ? String(after.s) : to === undefined ? '+inf' : String(to);
    if (after && to !== undefined && to < after.s) max = String(to);
    const min = from === undefined ? '-inf' : String(from);
    const batch = 200;
    let offset = 0;
    for (;;) {
      const rows = await redis.zrevrangebyscore(keys.deadLetterIndex, max, min, 'WITHSCORES', 'LIMIT', offset, batch);
      if (rows.length === 0) return;
      const ids: { id: string; score: number }[] = [];
      for (let i = 0; i + 1 < rows.length; i += 2) ids.push({ id: rows[i] ?? '', score: Number(rows[i + 1]) });
      const pipe = redis.pipeline();
      for (const { id } of ids) pipe.hgetall(keys.deadLetter(id));
      const hashes = (await pipe.exec()) ?? [];
      for (const [i, { id, score }] of ids.entries()) {
        // Equal scores come in reverse lexicographic order: skip up to and including the cursor.
        if (after && score === after.s && id >= after.id) continue;
        const d = fromHash((hashes[i]?.[1] ?? {}) as Record<string, string>);
        if (d && matches(d, filter)) yield { d, score };
      }
      offset += ids.length;
      if (ids.length < batch) return;
    }
  }

  async function retry(id: string, actor: string) {
    const at = new Date().toISOString();
    const existing = await get(id);
    if (existing && existing.kind.startsWith('batch.')) {
      // a file is not a job: it is imported again through its own ops route once TMO delivers it
      await audit.record({ actor, action: 'dead_letter.retry', target: id, outcome: 'rejected', detail: 'batch file' });
      throw new ConflictError('dead_letter.batch_file', 'A batch file is retried with POST /ops/batch/imports/{date}/retry, not as a job');
    }
    const result = await transition(id, 'open', 'retrying', {
      lastAction: JSON.stringify({ by: actor, action: 'retry', at }),
    });
    if (result !== 'ok') {
      await audit.record({ actor, action: 'dead_letter.retry', target: id, outcome: 'rejected', detail: `state ${result}` });
      if (result === 'missing') throw new NotFoundError('dead_letter.not_found', `No dead letter ${id}`);
      throw new ConflictError('dead_letter.not_open', `The dead letter is ${result}, only an open one can be retried`);
    }
    try {
      const op = await store.get(id);
      if (!op) throw new NotFoundError('operation.not_found', `Operation ${id} is gone`);
      // The new job resumes from the step store: finished steps are not sent again.
      await store.markQueued(id, null, null);
      // An operator's retry gets the whole budget again on every system.
      await store.resetFailures(id);
      const run = await store.nextRun(id);
      const job = await queues.enqueue({ operationId: id, kind: op.kind, requestId: op.requestId }, run);
      await audit.record({ actor, action: 'dead_letter.retry', target: id, outcome: 'succeeded', detail: `job ${job.id ?? ''}` });
      return { id, state: 'retrying' as const, jobId: job.id ?? '' };
    } catch (err) {
      // Give the dead letter back to the operators rather than leave it "retrying" with no job.
      await transition(id, 'retrying', 'open', {});
      await audit.record({ actor, action: 'dead_letter.retry', target: id, outcome: 'failed', detail: 'enqueue failed' });
      throw err;
    }
  }

  return {
    async record({ op, error, system, step, reason }) {
      const now = new Date().toISOString();
      const key = keys.deadLetter(op.id);
      await redis
        .multi()
        .hsetnx(key, 'firstFailedAt', op.firstFailedAt ?? now)
        .hincrby(key, 'deadLetterCount', 1)
        .hset(key, {
          id: op.id,
          operationId: op.id,
          kind: op.kind,
          system,
          operation: step,
          errorCode: error.code,
          errorKind: error.kind,
          message: sanitizeMessage(error.message),
          reason,
          attempts: op.attempts,
          lastFailedAt: now,
          payload: JSON.stringify(maskPayload(op.input, cipher)),
          state: 'open',
          updatedAt: now,
        })
        .zadd(keys.deadLetterIndex, Date.parse(now), op.id)
        // open again (a retried one failed again): it stays until an operator acts
        .persist(key)
        .exec();
      await trimIndex();
      const d = await get(op.id);
      if (!d) throw new Error('dead letter vanished right after it was written');
      return d;
    },

    async resolve(operationId) {
      // A retried one, or an open one (a job retried from the queue console bypasses the ops
      // API). One script: this runs after every succeeded job, nearly always with no dead letter.
      await redis.eval(RESOLVE_LUA, 1, keys.deadLetter(operationId), new Date().toISOString(), String(closedTtlMs));
    },

    async list(filter, page) {
      const after = page.cursor ? decodeCursor(page.cursor) : undefined;
      const items: DeadLetter[] = [];
      let last: Cursor | undefined;
      let more = false;
      for await (const { d, score } of scan(filter, after)) {
        if (items.length === page.limit) {
          more = true;
          break;
        }
        items.push(d);
        last = { s: score, id: d.id };
      }
      return { items, nextCursor: more && last ? encodeCursor(last) : null };
    },

    async summary(filter) {
      const rows = new Map<string, DeadLetterSummaryRow>();
      for await (const { d } of scan(filter)) {
        const row = rows.get(d.errorCode) ?? {
          errorCode: d.errorCode,
          count: 0,
          systems: [],
          oldestFailureAt: d.lastFailedAt,
          newestFailureAt: d.lastFailedAt,
        };
        row.count += 1;
        if (!row.systems.includes(d.system)) row.systems.push(d.system);
        if (d.lastFailedAt < row.oldestFailureAt) row.oldestFailureAt = d.lastFailedAt;
        if (d.lastFailedAt > row.newestFailureAt) row.newestFailureAt = d.lastFailedAt;
        rows.set(d.errorCode, row);
      }
      return [...rows.values()].sort((a, b) => b.count - a.count || a.errorCode.localeCompare(b.errorCode));
    },

    get,

    retry,

    async retryAll(filter, actor, opts = {}) {
      const max = opts.max ?? 1_000;
      const target = JSON.stringify({ ...filter, state: 'open' });
      const ids: string[] = [];
      const skipped: { id: string; state: string }[] = [];
      for await (const { d } of scan({ ...filter, state: 'open' })) {
        if (d.reason === 'not_retryable' && opts.force !== true) skipped.push({ id: d.id, state: 'not_retryable' });
        else ids.push(d.id);
        if (ids.length + skipped.length >= max) break;
      }
      const retried: string[] = [];
      const notRetryable = skipped.length;
      for (const id of ids) {
        try {
          await retry(id, actor);
          retried.push(id);
        } catch (err) {
          // Someone else retried or discarded it in between: report, do not fail the batch.
          const code = (err as { code?: unknown }).code;
          if (code === 'dead_letter.not_open' || code === 'dead_letter.not_found') skipped.push({ id, state: String(code) });
          else throw err;
        }
      }
      await audit.record({
        actor,
        action: 'dead_letter.retry_all',
        target,
        outcome: 'succeeded',
        detail: `matched ${ids.length + notRetryable}, retried ${retried.length}, skipped ${skipped.length}`,
      });
      return { matched: ids.length + notRetryable, retried, skipped };
    },

    async discard(id, reason, actor) {
      const trimmed = reason.trim();
      if (trimmed.length === 0) {
        await audit.record({ actor, action: 'dead_letter.discard', target: id, outcome: 'rejected', detail: 'no reason' });
        throw new ValidationError('dead_letter.reason_required', 'A reason is required to discard a dead letter', {
          fields: [{ field: 'reason', reason: 'required' }],
        });
      }
      const at = new Date().toISOString();
      const safeReason = sanitizeMessage(trimmed);
      const result = await transition(id, 'open', 'discarded', {
        lastAction: JSON.stringify({ by: actor, action: 'discard', at, reason: safeReason }),
      });
      if (result !== 'ok') {
        await audit.record({ actor, action: 'dead_letter.discard', target: id, outcome: 'rejected', detail: `state ${result}` });
        if (result === 'missing') throw new NotFoundError('dead_letter.not_found', `No dead letter ${id}`);
        throw new ConflictError('dead_letter.not_open', `The dead letter is ${result}, only an open one can be discarded`);
      }
      // closed: the dead letter and its failed operation are kept for the retention, then expire
      await redis.multi().pexpire(keys.deadLetter(id), closedTtlMs).pexpire(keys.operation(id), closedTtlMs).exec();
      await audit.record({ actor, action: 'dead_letter.discard', target: id, outcome: 'succeeded', detail: safeReason });
      const d = await get(id);
      if (!d) throw new NotFoundError('dead_letter.not_found', `No dead letter ${id}`);
      return d;
    },
  };
}

/**
 * Parks a batch file the gateway refused (e.g. a corrupt TERMSTAT snapshot) among the dead
 * letters, so operators see it with the others. It is resolved by {@link resolveBatchDeadLetter}
 * once a corrected file was applied; the generic retry refuses it (there is no job to re-run).
 */
export async function recordBatchDeadLetter(
  redis: Redis,
  keys: Keys,
  input: { kind: BatchDeadLetterKind; step: string; errorCode: string; message: string; payload: unknown },
): Promise<string> {
  const id = `batch_${randomBytes(16).toString('hex')}`;
  const now = new Date().toISOString();
  await redis
    .multi()
    .hset(keys.deadLetter(id), {
      id,
      operationId: id,
      kind: input.kind,
      system: 'tmo',
      operation: input.step,
      errorCode: input.errorCode,
      errorKind: 'translation',
      message: sanitizeMessage(input.message),
      reason: 'not_retryable',
      attempts: 1,
      deadLetterCount: 1,
      firstFailedAt: now,
      lastFailedAt: now,
      payload: JSON.stringify(input.payload),
      state: 'open',
      updatedAt: now,
    })
    .zadd(keys.deadLetterIndex, Date.parse(now), id)
    .exec();
  return id;
}

/**
 * A corrected batch file was applied: its open dead letters are resolved, and expire after
 * `closedTtlMs` like every closed dead letter (the script needs the TTL: without it Redis refused
 * the call and the corrected snapshot's import failed).
 */
export async function resolveBatchDeadLetter(redis: Redis, keys: Keys, id: string, closedTtlMs = DEFAULT_CLOSED_TTL_MS): Promise<void> {
  await redis.eval(RESOLVE_LUA, 1, keys.deadLetter(id), new Date().toISOString(), String(closedTtlMs));
}
