import { setTimeout as delay } from 'node:timers/promises';
import { Queue, Worker } from 'bullmq';
import { ConflictError } from '../../domain/errors/index.ts';
import { redisClientOptions } from '../../infra/redis.ts';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { BatchMetricsSink, ExportResult, SettingsExchange } from './exchange.ts';

export const BATCH_QUEUE = 'batch-exchange';
const EXPORT_SCHEDULER = 'tpu-export';
const ANSWERS_SCHEDULER = 'tpu-answers';

export interface BatchSchedulerOptions {
  /** a client to duplicate: the queue and the worker get their own (closed by `close()`) */
  redis: Redis;
  /** BullMQ prefix on the deployment's `{p}` hash tag (BatchKeys.bullPrefix) */
  prefix: string;
  exchange: SettingsExchange;
  /** cron of the export (BATCH_EXPORT_CRON) in `timeZone` (BATCH_TIME_ZONE) */
  exportCron: string;
  timeZone: string;
  /** answers poll period (BATCH_ANSWER_POLL_MS) */
  answerPollMs: number;
  /** run the jobs in this process (a process without workers only registers the schedules) */
  runWorker: boolean;
  logger: Logger;
  /** how long a scheduled export waits for the exchange lock before its job fails (default 10 min) */
  exportBusyWaitMs?: number;
  /**
   * Hash where the scheduled export's times are kept (BatchKeys.scheduledExport), shared by every
   * process: `since` (set once, when the schedule is first registered) and `lastSuccessAt`.
   */
  exportStatusKey: string;
  /** counts each scheduled export by outcome (`scheduledExport`) */
  metrics?: Pick<BatchMetricsSink, 'scheduledExport'>;
}

/**
 * BullMQ job schedulers for the export and the answers poll. Every process upserts the same two
 * schedulers (same id: one schedule in Redis, however many processes), BullMQ makes one job per
 * tick, and exactly one worker takes it; the exchange's Redis lock is the second fence.
 */
export async function startBatchScheduler(opts: BatchSchedulerOptions) {
  // BullMQ's role: no command timeout (a duplicate would inherit the commands client's, and the
  // worker's blocking wait for the next job then fails every few seconds)
  const queueConnection = opts.redis.duplicate(redisClientOptions('bullmq'));
  const workerConnection = opts.runWorker ? opts.redis.duplicate(redisClientOptions('bullmq')) : undefined;
  // ends a scheduled export's wait for the exchange lock when the process shuts down
  const stopping = new AbortController();
  const queue = new Queue(BATCH_QUEUE, {
    connection: queueConnection,
    prefix: opts.prefix,
    defaultJobOptions: { removeOnComplete: { count: 1000 }, removeOnFail: { count: 1000 }, attempts: 1 },
  });
  // the baseline of "no scheduled export succeeded for a day" (alert BatchScheduledExportMissing)
  // on a deployment that has not had one yet; kept as it is by every later start
  await opts.redis.hsetnx(opts.exportStatusKey, 'since', String(Date.now()));
  await upsertSchedule(queue, EXPORT_SCHEDULER, { pattern: opts.exportCron, tz: opts.timeZone }, 'export', opts.logger);
  await upsertSchedule(queue, ANSWERS_SCHEDULER, { every: opts.answerPollMs }, 'answers', opts.logger);
  /**
   * One tick's export. Counted here, by the one process that ran the tick (so the counter summed
   * over processes counts each tick once); its success is also written to Redis, where every
   * process reads it for the shared gauge: a process that dies with its count unscraped, or no
   * worker running at all, still shows as no success.
   */
  async function scheduledExport(): Promise<ExportResult> {
    const { result: r, waitedMs } = await exportWhenFree(opts.exchange, { waitMs: opts.exportBusyWaitMs ?? 600_000, signal: stopping.signal }).catch((err: unknown) => {
      opts.metrics?.scheduledExport('failed');
      throw err;
    });
    opts.metrics?.scheduledExport(r.outcome);
    // the file went out: a failed write here must not fail the job (it would read as no file)
    await opts.redis
      .hset(opts.exportStatusKey, 'lastSuccessAt', String(Date.now()))
      .catch((err: unknown) => opts.logger.warn({ err }, 'scheduled settings export: its success could not be recorded in Redis (the export-missing alert may fire)'));
    opts.logger.info({ outcome: r.outcome, waitedMs, ...(r.outcome === 'sent' ? { file: r.file, records: r.records } : {}) }, 'scheduled settings export');
    return r;
  }
  const worker = workerConnection
    ? new Worker(
        BATCH_QUEUE,
        async (job) => {
          if (job.name === 'export') return scheduledExport();
          if (job.name === 'answers') return opts.exchange.processAnswers();
          return null;
        },
        { connection: workerConnection, prefix: opts.prefix, concurrency: 1 },
      )
    : undefined;
  worker?.on('failed', (job, err) => opts.logger.error({ err, job: job?.name }, 'settings exchange job failed'));
  // without a listener BullMQ prints connection errors to stderr, outside the JSON log
  worker?.on('error', (err) => opts.logger.warn({ err }, 'settings exchange worker: Redis error'));
  queue.on('error', (err) => opts.logger.warn({ err }, 'settings exchange queue: Redis error'));
  let closing: Promise<void> | undefined;
  return {
    queue,
    worker,
    /** Idempotent; closes the worker (finishing its job) and the queue even if one throws. */
    close(): Promise<void> {
      closing ??= (async () => {
        stopping.abort();
        const rs: PromiseSettledResult<unknown>[] = await Promise.allSettled([worker?.close(), queue.close()]);
        rs.push(...(await Promise.allSettled([queueConnection.quit(), workerConnection?.quit()])));
        const failed = rs.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      })();
      return closing;
    },
  };
}

export type BatchScheduler = Awaited<ReturnType<typeof startBatchScheduler>>;

/**
 * The scheduled export, waiting its turn: the exchange lock is held by every answers poll of
 * every process (each second in some deployments) and by a manual export, so the nightly tick can
 * find it taken. `exportNow` then answers `busy`, which for the ops API's "export now" is a 409 to
 * retry, but for the schedule meant no file until the next night, logged at info. This tries
 * again every `retryMs` until the lock is free. After `waitMs` (a holder that died frees it within
 * the lock's TTL, so this only runs out when something is wrong), or when `signal` aborts (the
 * process shuts down: its worker must not wait minutes for this job), it throws, so the job fails
 * and the worker logs it as an error rather than the night passing in silence.
 */
export async function exportWhenFree(
  exchange: Pick<SettingsExchange, 'exportNow'>,
  opts: { waitMs: number; retryMs?: number; signal?: AbortSignal; now?: () => number; sleep?: (ms: number, signal?: AbortSignal) => Promise<void> },
): Promise<{ result: Exclude<ExportResult, { outcome: 'busy' }>; waitedMs: number }> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? abortableSleep;
  const retryMs = opts.retryMs ?? 200;
  const started = now();
  for (;;) {
    // waited: until the try that ran (the export's own time is not waiting)
    const waitedMs = now() - started;
    const result = await exchange.exportNow();
    if (result.outcome !== 'busy') return { result, waitedMs };
    if (waitedMs >= opts.waitMs || opts.signal?.aborted) {
      const why = opts.signal?.aborted ? 'the process shut down while it waited' : 'it gave up';
      throw new ConflictError('batch.export_busy', `the scheduled settings export found the exchange busy for ${waitedMs} ms and ${why}; the changes stay pending for the next tick or an export on demand`);
    }
    await sleep(retryMs, opts.signal);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (the caller then sees `signal.aborted`). */
function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, signal ? { signal } : {}).catch(() => undefined);
}

/** The part of BullMQ's `Queue` that {@link upsertSchedule} uses. */
type SchedulerQueue = Pick<Queue, 'upsertJobScheduler' | 'getJobScheduler'>;

/**
 * `upsertJobScheduler`, when another process may be running the same schedule, or none was:
 *
 * - A missed run is caught up. When every process was down at a tick (a deploy across the nightly
 *   time), that iteration's job is still in Redis, overdue, and a worker would take it at once;
 *   but an upsert from a cron removes it and schedules the next tick from now (tomorrow), so the
 *   night's export was lost in silence. A scheduler already in Redis, with the same options and
 *   an iteration overdue, is therefore kept as it is (its overdue job runs as soon as a worker
 *   starts) with a warning that says so. With other options (the time was changed) the upsert
 *   replaces it, and the warning says the missed run is dropped.
 * - BullMQ refuses a cron scheduler's upsert with "Cannot create job scheduler iteration - job ID
 *   already exists" (its SchedulerJobIdCollision) when the iteration it would create is the one
 *   another process's worker holds right now (active, so not replaceable) — a process starting
 *   at the very tick, or with its clock a little behind. The schedule is then in Redis already,
 *   under the same id, so this waits and tries again (the iteration is done within moments), and
 *   after the last try starts without its own upsert rather than failing the process's start: a
 *   warning says so.
 */
export async function upsertSchedule(
  queue: SchedulerQueue,
  id: string,
  repeat: Parameters<Queue['upsertJobScheduler']>[1],
  name: string,
  logger: Pick<Logger, 'warn'>,
  retryDelaysMs: readonly number[] = [250, 1_000, 3_000],
  now: () => number = Date.now,
): Promise<void> {
  // (an `every` scheduler's upsert keeps an overdue iteration's time by itself: only crons lose it)
  const existing = repeat.pattern ? await queue.getJobScheduler(id) : undefined;
  const t = now();
  if (existing?.next != null && existing.next <= t) {
    const missed = { scheduler: id, dueAt: new Date(existing.next).toISOString(), lateMs: t - existing.next };
    if (existing.name === name && existing.pattern === repeat.pattern && (existing.tz ?? undefined) === (repeat.tz ?? undefined)) {
      logger.warn(missed, 'batch schedule: the run due at dueAt was missed (no worker took it then); it runs now');
      return;
    }
    logger.warn(missed, 'batch schedule: the run due at dueAt was missed and the schedule has changed: the new schedule replaces it, that run is dropped');
  }
  for (let attempt = 0; ; attempt++) {
    try {
      await queue.upsertJobScheduler(id, repeat, { name });
      return;
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('Cannot create job scheduler iteration - job ID already exists')) throw err;
      const delay = retryDelaysMs[attempt];
      if (delay === undefined) {
        logger.warn({ scheduler: id, attempts: attempt + 1 }, 'batch schedule: its current iteration is held by another process; using the schedule already in Redis');
        return;
      }
      await new Promise((res) => setTimeout(res, delay));
    }
  }
}
