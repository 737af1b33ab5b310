/**
 * The TERMSTAT import (issue 6; the file is TMO's daily terminal snapshot): polls the outbox,
 * reads a snapshot only once its marker exists and its size has settled, stream-parses it while
 * it downloads, stages every record in a new Redis generation, and applies nothing unless the
 * whole file and its trailer are valid. Then one atomic swap makes it current, one event per
 * terminal whose status changed goes to the events stream, and the files move to the archive.
 *
 * Crash safety (one import at a time across processes, under a Redis lock fenced in the swap):
 * - before the swap nothing is visible; the staged generation is dropped by the next run;
 * - after the swap the run is `emitting`: the next run resumes emission after the last event of
 *   this snapshot already in the stream (events carry `eventId` `<date>.<generation>.<seq>`),
 *   so no event is lost or sent twice, then archives the files;
 * - a snapshot applied twice changes nothing and emits nothing: the diff is against the current
 *   snapshot, which is then the same.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { NotFoundError, isGatewayErrorLike } from '../../domain/errors/index.ts';
import type { FileTransferPort, RemoteEntry } from '../../domain/file-transfer.port.ts';
import type { LifecycleStatus } from '../../domain/model.ts';
import type { TerminalSnapshotFormat } from '../../domain/terminal-snapshot.ts';
import type { Logger } from '../../infra/logger.ts';
import { recordBatchDeadLetter, resolveBatchDeadLetter } from '../dead-letters.ts';
import { createKeys } from '../keys.ts';
import { sanitizeMessage } from '../sanitize.ts';
import {
  DuplicateTerminalError,
  EMIT_LUA,
  dropGeneration,
  dropStaleGenerations,
  hashTagOf,
  openStaging,
  parseCurrent,
  snapshotKeys,
  statusOfLetter,
  swap,
  type CurrentSnapshot,
} from './snapshot-store.ts';

export type ImportState = 'running' | 'imported' | 'corrupt' | 'failed' | 'superseded';

/** One import run as the ops API shows it. */
export interface SnapshotImportRun {
  id: string;
  snapshotDate: string;
  file: string;
  state: ImportState;
  /** records read so far (while running) or in all */
  records: number;
  statusChanges: number;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  /** why a file was corrupt, a run failed or a snapshot was superseded */
  reason: string | null;
  /** record (line) number of a corrupt file's fault */
  line: number | null;
  deadLetterId: string | null;
}

/** Counters the import reports; labels are bounded (statuses only). */
export interface TermstatMetrics {
  recordsImported(n: number): void;
  corruptFile(): void;
  statusChanges(from: LifecycleStatus, to: LifecycleStatus, n: number): void;
}

export interface TermstatImportOptions {
  redis: Redis;
  /** REDIS_KEY_PREFIX (the gateway's effective prefix) */
  prefix: string;
  files: FileTransferPort;
  format: TerminalSnapshotFormat;
  /** events stream key (EVENTS_STREAM) */
  eventsStream: string;
  /** approximate cap of the events stream (`MAXLEN ~`) */
  eventsMaxLen: number;
  /** a `.DAT` whose size or time changes within this window is still being written (default 2000) */
  settleMs?: number;
  logger: Logger;
  metrics?: TermstatMetrics;
  /** progress log line interval (default 5000) */
  progressLogMs?: number;
  /** lock lease (default 30000), renewed every third of it */
  lockTtlMs?: number;
  /** OPERATION_RETENTION_DAYS in ms: a resolved dead letter expires this long after (default 30 days, like every closed dead letter) */
  closedTtlMs?: number;
}

export interface PollResult {
  /** another process holds the import lock */
  busy: boolean;
  runs: SnapshotImportRun[];
}

export interface TermstatImporter {
  /** One look at the outbox now: finishes interrupted runs, then imports every ready snapshot (oldest first). */
  poll(opts?: { onlyDate?: string }): Promise<PollResult>;
  /** Starts a poll in the background (after the running one); what the ops API calls. */
  trigger(opts?: { onlyDate?: string }): { alreadyRunning: boolean };
  /** True when the outbox holds a complete snapshot (data and marker) of that ISO date. */
  hasSnapshot(snapshotDate: string): Promise<boolean>;
  /** Newest runs first. */
  list(limit: number): Promise<SnapshotImportRun[]>;
  /** Polls every `intervalMs` until closed. */
  start(intervalMs: number): void;
  /** Stops polling; a running import is aborted (nothing applied, retried by the next poll). Safe to call twice. */
  close(): Promise<void>;
}

const RENEW_LUA = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0`;
const RELEASE_LUA = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;

const RUNS_KEPT = 200;
/** status change events per emission script call */
const EMIT_BATCH = 5_000;

function errorText(err: unknown): string {
  return sanitizeMessage(err instanceof Error ? err.message : String(err)).slice(0, 500);
}

export function createTermstatImporter(opts: TermstatImportOptions): TermstatImporter {
  const { redis, files, format, logger } = opts;
  const keys = snapshotKeys(opts.prefix);
  const jobKeys = createKeys(opts.prefix);
  const settleMs = opts.settleMs ?? 2_000;
  const progressLogMs = opts.progressLogMs ?? 5_000;
  const lockTtlMs = opts.lockTtlMs ?? 30_000;
  const { outbox, archive, error: errorDir } = format.folders;
  const shutdown = new AbortController();
  let timer: NodeJS.Timeout | null = null;
  let chain: Promise<unknown> = Promise.resolve();
  let pending = 0;
  let closing: Promise<void> | undefined;

  const path = (dir: string, name: string) => `${dir}/${name}`;
  const datesKey = (date: string) => `${keys.tag}:dl:${date}`;

  // ---------- runs ----------

  function toRun(h: Record<string, string>): SnapshotImportRun | null {
    if (!h.id) return null;
    return {
      id: h.id,
      snapshotDate: h.snapshotDate ?? '',
      file: h.file ?? '',
      state: (h.state ?? 'running') as ImportState,
      records: Number(h.records ?? 0),
      statusChanges: Number(h.statusChanges ?? 0),
      startedAt: h.startedAt ?? '',
      finishedAt: h.finishedAt || null,
      durationMs: h.durationMs ? Number(h.durationMs) : null,
      reason: h.reason || null,
      line: h.line ? Number(h.line) : null,
      deadLetterId: h.deadLetterId || null,
    };
  }

  async function readRun(id: string): Promise<Record<string, string>> {
    return redis.hgetall(keys.run(id));
  }

  async function newRun(date: string, file: string, entry: RemoteEntry): Promise<string> {
    const id = `${date.replaceAll('-', '')}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const now = Date.now();
    await redis
      .multi()
      .hset(keys.run(id), {
        id,
        snapshotDate: date,
        file,
        state: 'running',
        phase: 'reading',
        records: 0,
        statusChanges: 0,
        startedAt: new Date(now).toISOString(),
        size: entry.size,
        modifiedAt: entry.modifiedAt,
      })
      .zadd(keys.runs, now, id)
      .sadd(keys.open, id)
      .exec();
    // keep the history bounded
    const old = await redis.zrange(keys.runs, '0', String(-RUNS_KEPT - 1));
    if (old.length > 0) await redis.multi().zrem(keys.runs, ...old).unlink(...old.map((o) => keys.run(o))).exec();
    return id;
  }

  async function finishRun(id: string, state: ImportState, fields: Record<string, string | number> = {}): Promise<void> {
    const h = await readRun(id);
    const finishedAt = Date.now();
    await redis
      .multi()
      .hset(keys.run(id), {
        ...fields,
        state,
        phase: 'done',
        finishedAt: new Date(finishedAt).toISOString(),
        durationMs: finishedAt - Date.parse(h.startedAt ?? new Date(finishedAt).toISOString()),
      })
      .srem(keys.open, id)
      .exec();
  }

  // ---------- lock ----------

  async function acquire(): Promise<{ token: string; lost: AbortSignal; release: () => Promise<void> } | null> {
    const token = randomBytes(12).toString('hex');
    if ((await redis.set(keys.lock, token, 'PX', lockTtlMs, 'NX')) !== 'OK') return null;
    const lost = new AbortController();
    const renew = setInterval(() => {
      redis.eval(RENEW_LUA, 1, keys.lock, token, String(lockTtlMs)).then(
        (r) => {
          if (Number(r) !== 1) lost.abort(new Error('the import lock was lost'));
        },
        (err: unknown) => logger.warn({ err }, 'termstat: could not renew the import lock'),
      );
    }, Math.max(50, Math.floor(lockTtlMs / 3)));
    renew.unref();
    return {
      token,
      lost: lost.signal,
      release: async () => {
        clearInterval(renew);
        await redis.eval(RELEASE_LUA, 1, keys.lock, token).catch(() => undefined);
      },
    };
  }

  // ---------- files ----------

  /** Moves `name` from the outbox into `dir`; a taken name gets `.1`, `.2`, …; null when the source is gone. */
  async function moveAside(name: string, dir: string): Promise<string | null> {
    for (let n = 0; n < 1_000; n++) {
      const target = n === 0 ? name : `${name}.${n}`;
      try {
        await files.rename(path(outbox, name), path(dir, target));
        return target;
      } catch (err) {
        if (isGatewayErrorLike(err) && err.kind === 'not_found') return null;
        if (isGatewayErrorLike(err) && err.kind === 'conflict') continue;
        throw err;
      }
    }
    throw new Error(`no free name for ${name} in ${dir}`);
  }

  /**
   * Moves the marker first, then the data file — but the data file only if it is still the one
   * this run read (a corrected file may have arrived after a crash). Without its marker a
   * leftover data file is never read again.
   */
  async function moveSnapshot(run: Record<string, string>, dir: string): Promise<void> {
    const { data, marker } = format.names(run.snapshotDate ?? '');
    await moveAside(marker, dir);
    const now = await files.stat(path(outbox, data));
    if (now && String(now.size) === run.size && String(now.modifiedAt) === run.modifiedAt) await moveAside(data, dir);
  }

  // ---------- events ----------

  async function lastStreamId(): Promise<string> {
    const last = (await redis.xrevrange(opts.eventsStream, '+', '-', 'COUNT', 1)) as [string, string[]][];
    return last[0]?.[0] ?? '';
  }

  /** Events of this run already in the stream: the seq of the newest one after `emitFrom`. */
  async function emittedSoFar(prefix: string, emitFrom: string): Promise<number> {
    const min = emitFrom ? `(${emitFrom}` : '-';
    let max = '+';
    for (;;) {
      const page = (await redis.xrevrange(opts.eventsStream, max, min, 'COUNT', 500)) as [string, string[]][];
      for (const [, fields] of page) {
        const i = fields.indexOf('eventId');
        const id = i >= 0 ? fields[i + 1] : undefined;
        if (id?.startsWith(prefix)) return Number(id.slice(prefix.length));
      }
      if (page.length < 500) return 0;
      max = `(${page[page.length - 1]?.[0] ?? ''}`;
    }
  }

  async function emit(runId: string, run: Record<string, string>): Promise<number> {
    const gen = Number(run.gen);
    const date = run.snapshotDate ?? '';
    const changesKey = keys.changes(gen);
    const prefix = `${date}.${gen}.`;
    const total = await redis.llen(changesKey);
    const counts = new Map<string, number>();
    if (hashTagOf(opts.eventsStream) === hashTagOf(keys.tag)) {
      // the stream shares the hash tag: Redis emits, and records how far, in one atomic script call
      let seq = run.emittedAtomically !== undefined ? Number(run.emittedAtomically) : await emittedSoFar(prefix, run.emitFrom ?? '');
      while (seq < total) {
        const pipe = redis.pipeline();
        for (let k = 0; k < 4 && seq + k * EMIT_BATCH < total; k++) {
          pipe.eval(EMIT_LUA, 3, changesKey, opts.eventsStream, keys.run(runId), seq + k * EMIT_BATCH, EMIT_BATCH, prefix, date, opts.eventsMaxLen);
        }
        const results = (await pipe.exec()) ?? [];
        const before = seq;
        for (const [err, res] of results) {
          if (err) throw err;
          const [at, emitted] = res as [number, string[]];
          if (at > seq) {
            seq = Number(at);
            for (const pair of emitted) counts.set(pair, (counts.get(pair) ?? 0) + 1);
          }
        }
        if (seq === before) throw new Error(`termstat: emission of run ${runId} does not advance (at ${seq} of ${total})`);
      }
    } else {
      let seq = await emittedSoFar(prefix, run.emitFrom ?? '');
      while (seq < total) {
        const rows = await redis.lrange(changesKey, seq, seq + 999);
        if (rows.length === 0) break;
        const pipe = redis.pipeline();
        for (const row of rows) {
          seq += 1;
          const [tid = '', mid = '', fromLetter = '', toLetter = ''] = row.split('|');
          const from = statusOfLetter(fromLetter);
          const to = statusOfLetter(toLetter);
          counts.set(`${from}|${to}`, (counts.get(`${from}|${to}`) ?? 0) + 1);
          pipe.xadd(
            opts.eventsStream, 'MAXLEN', '~', opts.eventsMaxLen, '*',
            'type', 'terminal.status_changed',
            'eventId', `${prefix}${seq}`,
            'terminalId', tid,
            'merchantId', mid,
            'from', from,
            'to', to,
            'snapshotDate', date,
          );
        }
        const results = (await pipe.exec()) ?? [];
        const failed = results.find(([err]) => err);
        if (failed) throw failed[0];
        await redis.hset(keys.run(runId), 'emitted', seq);
      }
    }
    for (const [pair, n] of counts) {
      const [from, to] = pair.split('|') as [LifecycleStatus, LifecycleStatus];
      opts.metrics?.statusChanges(from, to, n);
    }
    return total;
  }

  // ---------- phases after validation ----------

  /** From `emitting` (or `archiving`) to `imported`; resumable at every step. */
  async function completeApplied(runId: string): Promise<void> {
    let run = await readRun(runId);
    if (run.phase === 'emitting') {
      await emit(runId, run);
      if (run.previous) {
        const previous = parseCurrent(run.previous);
        if (previous) await dropGeneration(redis, keys, previous.gen);
      }
      await redis.unlink(keys.changes(Number(run.gen)));
      await redis.hset(keys.run(runId), 'phase', 'archiving');
      run = await readRun(runId);
    }
    if (run.phase === 'archiving') {
      await moveSnapshot(run, archive);
      const date = run.snapshotDate ?? '';
      for (const dl of await redis.smembers(datesKey(date))) await resolveBatchDeadLetter(redis, jobKeys, dl, opts.closedTtlMs);
      await redis.unlink(datesKey(date));
      await finishRun(runId, run.state === 'superseded' ? 'superseded' : 'imported');
      logger.info(
        { snapshotDate: date, runId, records: Number(run.records ?? 0), statusChanges: Number(run.statusChanges ?? 0) },
        'termstat: snapshot %s applied',
        date,
      );
    }
  }

  async function rejectCorrupt(runId: string, reason: string, line: number | null): Promise<void> {
    await redis.hset(keys.run(runId), { phase: 'to-error', reason, line: line ?? '' });
    await completeCorrupt(runId);
  }

  async function completeCorrupt(runId: string): Promise<void> {
    const run = await readRun(runId);
    await moveSnapshot(run, errorDir);
    let deadLetterId = run.deadLetterId ?? '';
    if (!deadLetterId) {
      const date = run.snapshotDate ?? '';
      deadLetterId = await recordBatchDeadLetter(redis, jobKeys, {
        kind: 'batch.termstat',
        step: 'tmo.termstat',
        errorCode: 'batch.file_corrupt',
        message: `${run.file}: ${run.line ? `line ${run.line}: ` : ''}${run.reason ?? ''}`,
        payload: { file: run.file, snapshotDate: date, line: run.line ? Number(run.line) : null, reason: run.reason ?? '' },
      });
      await redis.multi().sadd(datesKey(date), deadLetterId).hset(keys.run(runId), 'deadLetterId', deadLetterId).exec();
      opts.metrics?.corruptFile();
    }
    await finishRun(runId, 'corrupt');
    logger.error(
      { snapshotDate: run.snapshotDate, runId, line: run.line ? Number(run.line) : null, reason: run.reason, deadLetterId },
      'termstat: %s is corrupt, nothing applied; moved to %s',
      run.file,
      errorDir,
    );
  }

  /** Runs a crashed process left half done. */
  async function resumeOpen(): Promise<void> {
    for (const id of await redis.smembers(keys.open)) {
      const run = await readRun(id);
      if (!run.id) {
        await redis.srem(keys.open, id);
      } else if (run.phase === 'emitting' || run.phase === 'archiving') {
        logger.warn({ runId: id, phase: run.phase }, 'termstat: resuming an interrupted import');
        await completeApplied(id);
      } else if (run.phase === 'to-error') {
        await completeCorrupt(id);
      } else {
        // still reading when its process died: nothing was applied, the next poll reads it again
        await finishRun(id, 'failed', { reason: 'interrupted before it was applied (process stopped); read again by the next poll' });
      }
    }
  }

  // ---------- one snapshot ----------

  async function importOne(date: string, entry: RemoteEntry, lost: AbortSignal): Promise<SnapshotImportRun | null> {
    const { data } = format.names(date);
    const dataPath = path(outbox, data);
    // not while it is still growing: the size and time must hold still for settleMs
    await sleep(settleMs, undefined, { signal: AbortSignal.any([lost, shutdown.signal]) });
    const settled = await files.stat(dataPath);
    if (!settled || settled.size !== entry.size || settled.modifiedAt !== entry.modifiedAt) {
      logger.info({ file: data }, 'termstat: %s is still being written, not read yet', data);
      return null;
    }
    const current = parseCurrent(await redis.get(keys.current));
    const runId = await newRun(date, data, settled);
    if (current && current.snapshotDate > date) {
      await redis.hset(keys.run(runId), { phase: 'archiving', state: 'superseded', reason: `snapshot ${current.snapshotDate} is already applied` });
      await completeApplied(runId);
      return toRun(await readRun(runId));
    }

    const started = Date.now();
    const staging = await openStaging(redis, keys, current);
    await redis.hset(keys.run(runId), 'gen', staging.gen);
    const parser = format.createParser({ expectedDate: date });
    const signal = AbortSignal.any([lost, shutdown.signal]);
    let records = 0;
    let bytes = 0;
    let lastLog = started;
    const progress = setInterval(() => {
      void redis.hset(keys.run(runId), 'records', records).catch(() => undefined);
      const now = Date.now();
      if (now - lastLog >= progressLogMs) {
        lastLog = now;
        const rate = Math.round(records / ((now - started) / 1000));
        logger.info({ snapshotDate: date, runId, records, recordsPerSecond: rate }, 'termstat: %d records so far (%d/s)', records, rate);
      }
    }, Math.min(1_000, progressLogMs));
    progress.unref();
    let changes: number;
    try {
      for await (const chunk of files.read(dataPath, { signal })) {
        bytes += chunk.length;
        records += parser.pushTo(chunk, staging.sink);
        // backpressure: the next chunk is not pulled (nor read ahead) while Redis is behind
        await staging.ready();
      }
      parser.end();
      ({ changes } = await staging.finish());
      // completeness, independently of the transport: every byte, and the file did not change
      const after = await files.stat(dataPath);
      if (bytes !== settled.size || !after || after.size !== settled.size || after.modifiedAt !== settled.modifiedAt) {
        throw new Error(`the file changed while it was read (${bytes} bytes read, ${settled.size} expected)`);
      }
    } catch (err) {
      clearInterval(progress);
      await staging.abandon();
      await dropGeneration(redis, keys, staging.gen).catch(() => undefined);
      await redis.hset(keys.run(runId), 'records', records);
      const corrupt = err instanceof DuplicateTerminalError
        ? { reason: 'the TID appears twice in the snapshot', line: err.line }
        : isGatewayErrorLike(err) && err.code === 'batch.file_corrupt'
          ? { reason: String((err as { reason?: unknown }).reason ?? err.message), line: ((err as { line?: unknown }).line as number | null) ?? null }
          : null;
      if (corrupt) {
        await rejectCorrupt(runId, corrupt.reason, corrupt.line);
      } else {
        const reason = signal.aborted ? 'interrupted (shutdown or lost lock); read again by the next poll' : errorText(err);
        await finishRun(runId, 'failed', { reason });
        logger.warn({ err, snapshotDate: date, runId }, 'termstat: import of %s failed, nothing applied; retried by the next poll', data);
      }
      return toRun(await readRun(runId));
    }
    clearInterval(progress);
    await redis.hset(keys.run(runId), { records, statusChanges: changes });
    const next: CurrentSnapshot = { gen: staging.gen, snapshotDate: date };
    if (lost.aborted || !(await swap(redis, keys, { base: current, next, runId, emitFrom: await lastStreamId() }))) {
      await dropGeneration(redis, keys, staging.gen).catch(() => undefined);
      await finishRun(runId, 'failed', { reason: 'another snapshot was applied meanwhile; read again by the next poll' });
      return toRun(await readRun(runId));
    }
    opts.metrics?.recordsImported(records);
    await completeApplied(runId);
    return toRun(await readRun(runId));
  }

  // ---------- polling ----------

  async function ready(onlyDate?: string): Promise<{ date: string; entry: RemoteEntry }[]> {
    const entries = await files.list(outbox);
    const byDate = new Map<string, { data?: RemoteEntry; marker?: RemoteEntry }>();
    for (const e of entries) {
      if (e.type !== 'file') continue;
      const m = format.match(e.name);
      if (!m || (onlyDate && m.snapshotDate !== onlyDate)) continue;
      const slot = byDate.get(m.snapshotDate) ?? {};
      slot[m.role === 'data' ? 'data' : 'marker'] = e;
      byDate.set(m.snapshotDate, slot);
    }
    return [...byDate]
      .filter(([, s]) => s.data && s.marker) // a data file without its marker is still being written
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([date, s]) => ({ date, entry: s.data as RemoteEntry }));
  }

  async function poll(pollOpts: { onlyDate?: string } = {}): Promise<PollResult> {
    const lock = await acquire();
    if (!lock) return { busy: true, runs: [] };
    const runs: SnapshotImportRun[] = [];
    try {
      await resumeOpen();
      await dropStaleGenerations(redis, keys);
      for (const { date, entry } of await ready(pollOpts.onlyDate)) {
        if (shutdown.signal.aborted || lock.lost.aborted) break;
        const run = await importOne(date, entry, lock.lost);
        if (run) runs.push(run);
      }
    } finally {
      await lock.release();
    }
    return { busy: false, runs };
  }

  function trigger(t: { onlyDate?: string } = {}): { alreadyRunning: boolean } {
    const alreadyRunning = pending > 0;
    pending += 1;
    chain = chain
      .then(() => (shutdown.signal.aborted ? undefined : poll(t)))
      .catch((err: unknown) => {
        if (!shutdown.signal.aborted) logger.error({ err }, 'termstat: poll failed');
      })
      .finally(() => {
        pending -= 1;
      });
    return { alreadyRunning };
  }

  return {
    poll: (p) => {
      const run = chain.then(() => poll(p));
      chain = run.catch(() => undefined);
      return run;
    },
    trigger,
    async hasSnapshot(date) {
      return (await ready(date)).length > 0;
    },
    async list(limit) {
      const ids = await redis.zrevrange(keys.runs, 0, limit - 1);
      const pipe = redis.pipeline();
      for (const id of ids) pipe.hgetall(keys.run(id));
      const rows = (await pipe.exec()) ?? [];
      return rows.map(([, h]) => toRun(h as Record<string, string>)).filter((r): r is SnapshotImportRun => r !== null);
    },
    start(intervalMs) {
      if (timer || shutdown.signal.aborted) return;
      const tick = () => {
        if (pending === 0) trigger();
        timer = setTimeout(tick, intervalMs);
        timer.unref();
      };
      timer = setTimeout(tick, 0);
      timer.unref();
    },
    close() {
      closing ??= (async () => {
        if (timer) clearTimeout(timer);
        timer = null;
        shutdown.abort(new Error('shutting down'));
        await chain.catch(() => undefined);
      })();
      return closing;
    },
  };
}

/** A NotFoundError for a date with no complete snapshot in the outbox (ops retry). */
export function snapshotNotFound(date: string): NotFoundError {
  return new NotFoundError('batch.snapshot_not_found', `No complete snapshot (data and marker) of ${date} in the outbox`);
}
