import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ConflictError, isGatewayErrorLike, TranslationError } from '../../domain/errors/index.ts';
import type { FileTransferPort } from '../../domain/file-transfer.port.ts';
import type { SettingsAnswer, SettingsFileFormat } from '../../domain/terminal-settings.ts';
import type { DeadLetters } from '../dead-letters.ts';
import { SETTINGS_FILE_STEP } from '../handlers/terminal-settings.ts';
import type { Keys } from '../keys.ts';
import type { OperationStore } from '../operation-store.ts';
import type { BatchKeys } from './keys.ts';
import { finishOperations, settingsError } from './operations.ts';
import type { BatchStore, FileRecord } from './store.ts';

export const INBOX = '/inbox';
export const OUTBOX = '/outbox';
export const ARCHIVE = '/outbox/archive';
export const ERROR_DIR = '/outbox/error';

/** Where a test may stop the export (crash tests): each point is after the step it names. */
export type ExportHookPoint = 'claimed' | 'during-upload' | 'uploaded' | 'renamed';

/** Counters of the exchange; labels are bounded (kinds and outcomes, never names or ids). */
export interface BatchMetricsSink {
  fileSent(): void;
  answer(kind: SettingsAnswer['kind'] | 'invalid'): void;
  records(outcome: 'applied' | 'rejected', n: number): void;
  /** a scheduled export's job ended (counted by the process that ran it: one per tick) */
  scheduledExport(outcome: ScheduledExportOutcome): void;
}

/** How a scheduled export's job ended: the export's own outcomes, or `failed` (the job failed: busy past its wait, SFTP down, …). */
export type ScheduledExportOutcome = 'sent' | 'nothing_pending' | 'failed';

export interface ExchangeDeps {
  redis: Redis;
  keys: BatchKeys;
  store: BatchStore;
  /** the operations' keys and store (settings changes are operations) */
  operationKeys: Keys;
  operationStore: OperationStore;
  deadLetters: DeadLetters;
  files: FileTransferPort;
  format: SettingsFileFormat;
  logger: Logger;
  metrics?: BatchMetricsSink;
  /** IANA zone the file's day is taken in (BATCH_TIME_ZONE) */
  timeZone: string;
  /** NAKed files a change may go out in before it is dead-lettered (BATCH_NAK_MAX_RESENDS) */
  nakMaxResends: number;
  /** a sent file with no answer after this is overdue (BATCH_ANSWER_OVERDUE_MS) */
  overdueMs: number;
  /** lock TTL, renewed while held (default 60 s) */
  lockTtlMs?: number;
  now?: () => Date;
  /** crash tests: called after each named step of an export */
  hook?: (point: ExportHookPoint) => Promise<void> | void;
}

export type ExportResult =
  | { outcome: 'sent'; file: string; records: number }
  | { outcome: 'nothing_pending' }
  | { outcome: 'busy' };

export interface AnswersResult {
  processed: { name: string; kind: SettingsAnswer['kind'] | 'invalid' }[];
  overdue: string[];
}

/** Records handled per step of an answer or a recovery: pipelines and scripts of this size. */
const PAGE = 1000;

const RELEASE_LOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const RENEW_LOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

/** `YYYY-MM-DD` of an instant in an IANA zone. */
export function dayIn(instant: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(instant);
}

/** The file's state as the ops API shows it. */
export function visibleFileState(f: FileRecord, now: number, overdueMs: number): 'uploading' | 'sent' | 'acknowledged' | 'refused' | 'overdue' | 'abandoned' {
  if (f.state === 'uploaded') return 'uploading';
  if (f.state === 'sent') return f.sentAt && now - Date.parse(f.sentAt) > overdueMs ? 'overdue' : 'sent';
  return f.state;
}

/**
 * The settings-file exchange with TMO (BATCH.md §1–§2 through `format`): the export (ledger →
 * `.PART` → rename), crash recovery from the remote side, and the answers. One run at a time
 * across every process (a Redis lock), so recovery, export and answers never interleave.
 */
export function createSettingsExchange(deps: ExchangeDeps) {
  const { redis, keys, store, files, format, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const lockTtlMs = deps.lockTtlMs ?? 60_000;
  const hook = async (p: ExportHookPoint) => {
    if (deps.hook) await deps.hook(p);
  };
  const opDeps = { redis, keys: deps.operationKeys, store: deps.operationStore, deadLetters: deps.deadLetters };

  async function withLock<T>(fn: () => Promise<T>): Promise<T | typeof BUSY> {
    const token = randomUUID();
    if ((await redis.set(keys.lock, token, 'PX', lockTtlMs, 'NX')) !== 'OK') return BUSY;
    const renew = setInterval(() => {
      redis.eval(RENEW_LOCK, 1, keys.lock, token, String(lockTtlMs)).catch(() => undefined);
    }, Math.max(100, Math.floor(lockTtlMs / 3)));
    renew.unref();
    try {
      return await fn();
    } finally {
      clearInterval(renew);
      await redis.eval(RELEASE_LOCK, 1, keys.lock, token).catch(() => undefined);
    }
  }

  async function answerPresent(name: string): Promise<boolean> {
    const found = await Promise.all(format.answerNames(name).map((a) => files.stat(`${OUTBOX}/${a.name}`)));
    return found.some((e) => e !== null);
  }

  /**
   * Finishes or undoes a file a crash left behind, from what the remote side shows:
   * - `uploaded` (the `.PART` was complete): rename it if it is still there; if not, the rename
   *   happened (and TMO may have picked the `.DAT` up already): either way the file is sent.
   * - `uploading`: the rename never happened, so TMO never saw this name: remove any `.PART` and
   *   put the changes back to pending, to go out under a new name. The name stays used.
   */
  async function recoverFile(f: FileRecord): Promise<void> {
    await store.endClaim(f.name); // left by a crash while claiming
    const dat = `${INBOX}/${f.name}`;
    const part = `${dat}.PART`;
    const at = now().toISOString();
    const [datEntry, partEntry, answered] = await Promise.all([files.stat(dat), files.stat(part), answerPresent(f.name)]);
    if (f.state === 'uploaded' || datEntry || answered) {
      if (f.state !== 'uploaded') logger.error({ file: f.name }, 'settings file was never marked complete, yet TMO has it: counted as sent');
      if (!datEntry && partEntry && !answered) await files.rename(part, dat);
      await store.updateFile(f.name, { state: 'sent', sentAt: at });
      deps.metrics?.fileSent();
      logger.warn({ file: f.name, finished: !datEntry && partEntry !== null }, 'settings file recovered after a crash: sent');
      return;
    }
    if (partEntry) await files.remove(part);
    let records = 0;
    for await (const { ids } of store.fileOperationIdPages(f.name, PAGE)) {
      const outcome = await store.release(f.name, ids, { kind: 'recover' }, at);
      await finishOperations(opDeps, await store.getChangeStates(ids.filter((id) => outcome.get(id) === 'superseded')), at);
      records += ids.length;
    }
    await store.updateFile(f.name, { state: 'abandoned', reason: 'interrupted before TMO could see it; its changes go out under a new name' }, { closed: true });
    logger.warn({ file: f.name, records }, 'settings file abandoned after a crash: its changes go out again under a new name');
  }

  async function recoverLocked(): Promise<void> {
    for (const name of await store.openFiles()) {
      const f = await store.getFile(name);
      if (f && (f.state === 'uploading' || f.state === 'uploaded')) await recoverFile(f);
    }
  }

  /** The bytes of the file, counting them; `during-upload` fires once the first chunk is out. */
  async function* source(fileName: string, id: { date: string; seq: number }, counter: { bytes: number }): AsyncGenerator<Uint8Array> {
    let first = true;
    for await (const chunk of format.write(id, store.fileChanges(fileName))) {
      counter.bytes += chunk.length;
      yield chunk;
      if (first) {
        first = false;
        await hook('during-upload');
      }
    }
  }

  async function exportLocked(): Promise<ExportResult> {
    await recoverLocked();
    if ((await store.pendingCount()) === 0) return { outcome: 'nothing_pending' };
    const started = now();
    const at = started.toISOString();
    const date = dayIn(started, deps.timeZone);
    const seq = await store.nextSeq(date.replaceAll('-', ''));
    if (seq > 999) throw new ConflictError('batch.sequence_exhausted', `999 settings files were made on ${date} already`);
    const name = format.fileName({ date, seq });
    // The ledger first: a crash from here on is recovered from it (recoverFile).
    await store.createFile({ name, date, seq }, at);
    let claimed = 0;
    for await (const ids of store.pendingOperationIds()) claimed += await store.claim(name, ids, at);
    await store.endClaim(name);
    await store.updateFile(name, { records: claimed });
    if (claimed === 0) {
      await store.updateFile(name, { state: 'abandoned', reason: 'nothing left to send' }, { closed: true });
      return { outcome: 'nothing_pending' };
    }
    await hook('claimed');
    const counter = { bytes: 0 };
    const part = `${INBOX}/${name}.PART`;
    try {
      await files.upload(part, source(name, { date, seq }, counter));
    } catch (err) {
      // The remote may be gone: recovery (now, or at the next run) puts the changes back.
      await recoverLocked().catch((e: unknown) => logger.warn({ err: e, file: name }, 'recovery after a failed upload failed; retried next run'));
      throw err;
    }
    await store.updateFile(name, { state: 'uploaded', uploadedAt: now().toISOString(), bytes: counter.bytes });
    await hook('uploaded');
    await files.rename(part, `${INBOX}/${name}`);
    await hook('renamed');
    await store.updateFile(name, { state: 'sent', sentAt: now().toISOString() });
    deps.metrics?.fileSent();
    logger.info({ file: name, records: claimed, bytes: counter.bytes, ms: Date.now() - started.getTime() }, 'settings file sent');
    return { outcome: 'sent', file: name, records: claimed };
  }

  async function readAll(path: string): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const chunk of files.read(path)) parts.push(chunk);
    return Buffer.concat(parts);
  }

  /** Moves `from` into `dir` under its name, or `<name>.1`, `.2`, … if taken: never overwrites. */
  async function moveAside(from: string, dir: string, name: string): Promise<string> {
    for (let n = 0; n < 1000; n += 1) {
      const to = `${dir}/${n === 0 ? name : `${name}.${n}`}`;
      try {
        await files.rename(from, to);
        return to;
      } catch (err) {
        if (isGatewayErrorLike(err) && err.kind === 'conflict') continue;
        throw err;
      }
    }
    throw new ConflictError('batch.archive_full', `no free name for ${name} in ${dir}`);
  }

  function invalidAnswer(name: string, what: string): TranslationError {
    return new TranslationError('batch.answer_invalid', `TMO answer ${name}: ${what}`, { system: 'tmo' });
  }

  /**
   * Applies an ACK a page of records at a time (pipelines and Lua, no per-record round trip, no
   * whole-file array): first every result is checked against the ledger (nothing is applied
   * when one is off), then each page's results go to the changes, then to their operations.
   * A crash halfway leaves the answer in /outbox: processing it again applies only what is left.
   */
  async function applyAck(f: FileRecord, answer: Extract<SettingsAnswer, { kind: 'ack' }>, answerName: string): Promise<void> {
    const at = now().toISOString();
    const { results } = answer;
    const total = await store.fileRecordCount(f.name);
    if (results.count !== total) throw invalidAnswer(answerName, `${results.count} results for ${total} records`);
    for await (const { start, ids } of store.fileOperationIdPages(f.name, PAGE)) {
      const terminalIds = await store.getTerminalIds(ids);
      terminalIds.forEach((tid, j) => {
        const recordNo = start + j + 1;
        const r = results.get(recordNo);
        if (tid === null) throw invalidAnswer(answerName, `record ${recordNo} is not in the file`);
        if (tid !== r.terminalId) throw invalidAnswer(answerName, `record ${recordNo} names terminal ${r.terminalId}, the file has ${tid}`);
      });
    }
    const first = f.state !== 'acknowledged';
    for await (const { start, ids } of store.fileOperationIdPages(f.name, PAGE)) {
      const page = ids.map((operationId, j) => {
        const r = results.get(start + j + 1);
        return { operationId, terminalId: r.terminalId, outcome: r.outcome, reason: r.outcome === 'rejected' ? r.reason : null };
      });
      await store.applyResults(f.name, page, at);
      await finishOperations(opDeps, await store.getChangeStates(ids), at);
      if (f.duplicateAt) await Promise.all(ids.map((id) => deps.deadLetters.resolve(id)));
    }
    if (first) {
      await store.updateFile(
        f.name,
        { state: 'acknowledged', answeredAt: at, processedOn: answer.processedOn, applied: answer.applied, rejected: answer.rejected },
        { closed: true },
      );
      deps.metrics?.answer('ack');
      deps.metrics?.records('applied', answer.applied);
      deps.metrics?.records('rejected', answer.rejected);
      logger.info({ file: f.name, applied: answer.applied, rejected: answer.rejected }, 'settings file acknowledged');
    }
  }

  async function applyNak(f: FileRecord, answer: Extract<SettingsAnswer, { kind: 'nak' }>): Promise<void> {
    const at = now().toISOString();
    const first = f.state !== 'refused';
    let records = 0;
    let resent = 0;
    let deadLettered = 0;
    for await (const { ids } of store.fileOperationIdPages(f.name, PAGE)) {
      const outcome = await store.release(f.name, ids, { kind: 'nak', maxResends: deps.nakMaxResends, reason: answer.reason }, at);
      const done = await finishOperations(opDeps, await store.getChangeStates(ids), at);
      records += ids.length;
      resent += [...outcome.values()].filter((o) => o === 'released').length;
      deadLettered += done.deadLettered.length;
    }
    if (first) {
      await store.updateFile(f.name, { state: 'refused', reason: answer.reason, answeredAt: at }, { closed: true });
      deps.metrics?.answer('nak');
      // an alert: a NAK means our writer and TMO disagree about the layout
      logger.error({ alert: 'batch.file_refused', file: f.name, reason: answer.reason, records, resent, deadLettered }, 'TMO refused a whole settings file');
    }
  }

  async function applyDup(f: FileRecord): Promise<void> {
    const at = now().toISOString();
    if (await store.setFileFieldOnce(f.name, 'duplicateAt', at)) {
      deps.metrics?.answer('dup');
      logger.error({ alert: 'batch.duplicate_name', file: f.name, state: f.state }, 'TMO answered a settings file name as already used (DUP)');
    }
    // Changes still waiting for the first answer become visible to the operators; that answer
    // stays the truth (an ACK arriving later still applies and resolves them).
    const error = settingsError('batch.duplicate_name');
    for await (const { ids } of store.fileOperationIdPages(f.name, PAGE)) {
      for (const c of await store.getChangeStates(ids)) {
        if (!c || c.state !== 'filed' || c.file !== f.name) continue;
        if (await deps.deadLetters.get(c.operationId)) continue;
        const op = await deps.operationStore.get(c.operationId);
        if (op) await deps.deadLetters.record({ op, error, system: 'tmo', step: SETTINGS_FILE_STEP, reason: 'not_retryable' });
      }
    }
  }

  async function answersLocked(): Promise<AnswersResult> {
    const processed: AnswersResult['processed'] = [];
    const entries = await files.list(OUTBOX);
    for (const e of entries) {
      if (e.type !== 'file') continue;
      const parsedName = format.parseAnswerName(e.name);
      if (!parsedName) continue;
      const f = await store.getFile(parsedName.fileName);
      if (!f) {
        logger.warn({ answer: e.name }, 'answer for a settings file this gateway has no ledger entry for: left in place');
        continue;
      }
      const path = `${OUTBOX}/${e.name}`;
      try {
        if (f.state === 'uploading' || f.state === 'abandoned') throw invalidAnswer(e.name, `the file was ${f.state} here: TMO never saw it from this gateway`);
        const answer = format.parseAnswer(e.name, await readAll(path));
        if (answer.kind === 'ack') await applyAck(f, answer, e.name);
        else if (answer.kind === 'nak') {
          if (f.state === 'acknowledged') throw invalidAnswer(e.name, 'a NAK for a file already acknowledged');
          await applyNak(f, answer);
        } else await applyDup(f);
        await moveAside(path, ARCHIVE, e.name);
        processed.push({ name: e.name, kind: answer.kind });
      } catch (err) {
        if (!(isGatewayErrorLike(err) && err.code === 'batch.answer_invalid')) throw err;
        // never guessed: the answer goes to /outbox/error with the reason on the file and an alert
        await store.updateFile(f.name, { answerError: `${e.name}: ${err.message}` });
        await moveAside(path, ERROR_DIR, e.name);
        deps.metrics?.answer('invalid');
        logger.error({ alert: 'batch.answer_invalid', answer: e.name, reason: err.message }, 'TMO answer could not be read: moved to /outbox/error');
        processed.push({ name: e.name, kind: 'invalid' });
      }
    }
    const overdue: string[] = [];
    const t = now().getTime();
    for (const name of await store.openFiles()) {
      const f = await store.getFile(name);
      if (!f || visibleFileState(f, t, deps.overdueMs) !== 'overdue') continue;
      overdue.push(name);
      if (await store.setFileFieldOnce(name, 'overdueAlertedAt', new Date(t).toISOString())) {
        logger.error({ alert: 'batch.answer_overdue', file: name, sentAt: f.sentAt }, 'no answer from TMO for a settings file');
      }
    }
    return { processed, overdue };
  }

  return {
    /** Runs one export now: `busy` when another process runs the exchange. */
    async exportNow(): Promise<ExportResult> {
      const r = await withLock(exportLocked);
      return r === BUSY ? { outcome: 'busy' } : r;
    },
    /** Reads and applies the answers in /outbox; null when another process runs the exchange. */
    async processAnswers(): Promise<AnswersResult | null> {
      const r = await withLock(answersLocked);
      return r === BUSY ? null : r;
    },
    /** Crash recovery alone (also done at the start of every export). */
    async recover(): Promise<boolean> {
      return (await withLock(recoverLocked)) !== BUSY;
    },
  };
}

const BUSY = Symbol('busy');

export type SettingsExchange = ReturnType<typeof createSettingsExchange>;
