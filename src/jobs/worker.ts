import type { Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { isGatewayErrorLike } from '../domain/errors/index.ts';
import { redisClientOptions } from '../infra/redis.ts';
import { OperationExpiredError } from './errors/operation-expired-error.ts';
import { RetryableOperationError } from './errors/retryable-operation-error.ts';
import type { Operations, OperationsRuntime } from './operations.ts';
import type { OperationRecord } from './operation-store.ts';
import { breakerWaitUntil, createBackoffStrategy } from './retry-policy.ts';
import { runQueued } from './call-pacing.ts';
import { circuitOf, freshRunSteps } from './runner.ts';
import { toStoredError } from './sanitize.ts';
import { traceAttempts } from './tracing.ts';
import { coalesceWrites } from './write-coalescing.ts';
import { LEGACY_SYSTEMS, type OperationJobData, type ResourceRef, type StepRecord, type StoredError } from './types.ts';

export interface CreateWorkersOptions {
  operations: Operations;
  /** jobs processed in parallel per queue and process. Default 4. */
  concurrency?: number;
  /** BullMQ lock duration; a crashed worker's job is recovered after about this. Default 30 s. */
  lockDurationMs?: number;
  /** how often stalled jobs are looked for. Default 15 s. */
  stalledIntervalMs?: number;
  /** times a job may stall (worker crash) before it is dead-lettered. Default 3. */
  maxStalledCount?: number;
  /** delay before trying again when another runner holds the operation lease. Default 2 s. */
  leaseBusyDelayMs?: number;
  /**
   * How long a job whose operation record is missing keeps waiting for it. `submit` adds the
   * job before it writes the record (so a record never exists without a job), hence a worker
   * may see the job a moment before its record; after this the submitter is presumed dead
   * before anything was applied, and the job is dropped. Default 30 s.
   */
  missingRecordGraceMs?: number;
  /** with tracing on (src/infra/tracing.ts): one span per job attempt; absent, the processor is not wrapped */
  tracer?: Tracer;
}

export interface Workers {
  readonly workers: readonly Worker<OperationJobData>[];
  /** Resolves when every worker is connected (tests, readiness). */
  waitUntilReady(): Promise<void>;
  /** Lets the current jobs finish, then closes. Idempotent; closes every worker even if one throws. */
  close(): Promise<void>;
}

type JobResult = { resource: ResourceRef } | { skipped: string };

/**
 * The BullMQ workers of both operation queues (in the API process by default, or in
 * `npm run worker`). Several processes may run them against the same Redis: BullMQ locks
 * hand each job to one worker, the operation lease keeps an inline run and a worker apart,
 * and stalled jobs of a crashed process are moved back to wait and resumed from their steps.
 */
export function createWorkers(opts: CreateWorkersOptions): Workers {
  const rt = opts.operations.runtime;
  const timing = { leaseBusyDelayMs: opts.leaseBusyDelayMs ?? 2_000, missingRecordGraceMs: opts.missingRecordGraceMs ?? 30_000 };
  // runQueued: legacy calls made by a queued job wait for the system's shared rate (call-pacing.ts).
  // Two parameters, not BullMQ's optional third (`signal`): BullMQ builds an AbortController for
  // every job of a processor declared with three (it reads `processor.length`), and our legacy
  // calls then add and remove a listener on it at each call (bulkhead and transport), a cost on
  // every command (issue 8). The signal is aborted only by `Worker.cancelJob`/`cancelAllJobs`,
  // which nothing here calls: `close()` lets the current jobs finish, and a job's legacy calls
  // are bounded by their own timeouts.
  const run = (job: Job<OperationJobData>, token?: string) => runQueued(() => processJob(rt, job, token, timing));
  // tracing on: each attempt in a span, a child of the request that queued the job (tracing.ts)
  const processor = opts.tracer ? traceAttempts(opts.tracer, run) : run;

  const workers = LEGACY_SYSTEMS.map((system) => {
    const w = new Worker<OperationJobData, JobResult>(rt.queues.byName[system].name, processor, {
      // one socket write per event-loop turn, in order (not auto-pipelined): write-coalescing.ts
      connection: coalesceWrites(rt.redis.duplicate(redisClientOptions('bullmq'))),
      prefix: rt.keys.bullPrefix,
      concurrency: opts.concurrency ?? 4,
      lockDuration: opts.lockDurationMs ?? 30_000,
      stalledInterval: opts.stalledIntervalMs ?? 15_000,
      maxStalledCount: opts.maxStalledCount ?? 3,
      settings: { backoffStrategy: createBackoffStrategy(rt.policy) },
    });
    w.on('failed', (job, err) => {
      if (job) void onFinalFailure(rt, job, err);
    });
    // Without a listener, a Redis hiccup would be an unhandled 'error' event.
    w.on('error', (err) => rt.logger.error({ err, system }, 'worker error'));
    return w;
  });

  let closing: Promise<void> | undefined;
  return {
    workers,
    async waitUntilReady() {
      await Promise.all(workers.map((w) => w.waitUntilReady()));
    },
    close() {
      closing ??= Promise.allSettled(
        workers.map(async (w) => {
          const conn = w.opts.connection as { quit?: () => Promise<unknown> };
          try {
            await w.close();
          } finally {
            await conn.quit?.().catch(() => undefined);
          }
        }),
      ).then((rs) => {
        const failed = rs.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      });
      return closing;
    },
  };
}

async function delay(job: Job<OperationJobData>, until: number, token: string | undefined): Promise<never> {
  // Moving to delayed does not count as an attempt: the job waits, it did not fail.
  await job.moveToDelayed(until, token);
  throw new DelayedError();
}

/** Whether a job should run for this operation record, or why not. */
async function runnable(rt: OperationsRuntime, op: OperationRecord): Promise<string | null> {
  if (op.status === 'succeeded') return 'already_succeeded';
  if (op.status === 'failed') {
    // Only a retry from the queue console reaches here for a parked operation; run it as a
    // retry of an open dead letter, never for a discarded one or a synchronous 4xx.
    const dl = await rt.deadLetters.get(op.id);
    if (!dl || dl.state !== 'open') return 'operation_failed';
  }
  return null;
}

/**
 * The running mark for the lease script (`acquireLeaseAndGet`), if the job's operation would run
 * at once were its record still as submitted: not an order (it takes its merchant's slot first
 * and may wait for it), within its maximum age, and its first system's breaker not open. The
 * script writes it only if the record is indeed untouched (queued, no attempt, progress {}).
 */
function freshRun(
  rt: OperationsRuntime,
  job: Job<OperationJobData>,
  now: number,
): { steps: StepRecord[]; circuit: ReturnType<typeof circuitOf> } | undefined {
  const { kind } = job.data;
  if (kind === 'terminal.order') return undefined;
  const first = rt.runner.upcoming({ kind, progress: {} });
  if (now - job.timestamp >= rt.policy[first.system].maxAgeMs) return undefined;
  const circuit = circuitOf(rt.circuits, first.system);
  if (circuit?.state === 'open') return undefined;
  return { steps: freshRunSteps(kind, new Date(now).toISOString()), circuit };
}

async function processJob(
  rt: OperationsRuntime,
  job: Job<OperationJobData>,
  token: string | undefined,
  timing: { leaseBusyDelayMs: number; missingRecordGraceMs: number },
): Promise<JobResult> {
  const { operationId } = job.data;
  // The job's child logger only when a line is written: pino serialises (and redacts) its
  // bindings on creation, a cost on every job while the hot path logs nothing at `warn`.
  let child: Logger | undefined;
  const log = () => (child ??= rt.logger.child({ operationId, kind: job.data.kind, jobId: job.id, requestId: job.data.requestId }));
  const now = Date.now();
  // The lease first, then one read under it: another runner (a second copy of a stalled job, or
  // the inline request) may move the operation on at any time until we hold the lease, and
  // resuming from older progress would resend a step it already applied — for an order, a
  // second terminal, since its "known terminals" snapshot would be taken after the first exists.
  // (One command: a script takes the lease and reads the record under it, see `acquireLeaseAndGet`.)
  // A job of an operation that never ran (the usual case) may have the lease script mark it
  // running as well (`freshRun`): one command less per job. Only when every check below would
  // let it run as it stands: no order slot to take, within its age, its first system's breaker
  // not open — read once, here, and used for the check below when the script marked the record.
  const fresh = freshRun(rt, job, now);
  const held = await rt.store.acquireLeaseAndGet(operationId, rt.leaseTtlMs, fresh ? { kind: job.data.kind, steps: fresh.steps } : undefined);
  if (!held) return delay(job, now + timing.leaseBusyDelayMs, token);
  const { lease, op } = held;
  const marked = fresh && held.marked ? fresh : undefined;

  try {
    if (!op) {
      if (now - job.timestamp < timing.missingRecordGraceMs) {
        // The submitter adds the job before the record: the record is probably a moment away.
        return await delay(job, now + Math.min(500, timing.missingRecordGraceMs), token);
      }
      log().warn('job for an unknown operation: nothing to apply');
      return { skipped: 'unknown_operation' };
    }
    const skip = await runnable(rt, op);
    if (skip) return { skipped: skip };

    const next = rt.runner.upcoming(op);
    if (now - job.timestamp >= rt.policy[next.system].maxAgeMs) {
      const error = op.error ?? toStoredError(new OperationExpiredError('The operation could not be applied within its maximum age'));
      await rt.runner.parkBefore(op, error, 'max_age');
      throw new UnrecoverableError(`${error.code}: ${error.message}`);
    }
    const circuit = marked ? marked.circuit : circuitOf(rt.circuits, next.system);
    if (circuit?.state === 'open') {
      log().info({ system: next.system }, 'breaker open: job waits');
      return await delay(job, breakerWaitUntil(circuit, rt.policy[next.system], now), token);
    }

    if (op.status === 'failed') {
      // A retry of an open dead letter from the queue console (the ops API resets this itself):
      // a fresh budget on every system, or the first failure would park it again at once.
      await rt.store.resetFailures(op.id);
      op.failures = { tmo: 0, crm: 0 };
    }

    const ctx = { requestId: job.data.requestId };
    const attempt = await rt.runner.attempt(op, ctx, { inline: false, enqueuedAt: job.timestamp, lease, ...(marked ? { marked: marked.steps } : {}) });
    switch (attempt.outcome) {
      case 'slot_busy':
        // another order of this merchant is in flight (see order-slots.ts): wait for our turn
        return await delay(job, now + timing.leaseBusyDelayMs, token);
      case 'lease_lost':
        // Taken over (this runner was presumed dead), or the lease lapsed: stopped before its
        // next legacy call. The job waits and looks again, as for a busy lease: the new holder's
        // run ends it (succeeded: skipped), and nothing is stranded if there was none (a lapsed
        // key) or its own job is gone. Completed, it could leave the operation with no job;
        // failed, it would be dead-lettered; a delay is no attempt.
        log().warn('operation lease lost during the run: stopped before its next legacy call, the job waits');
        return await delay(job, now + timing.leaseBusyDelayMs, token);
      case 'succeeded':
        if (rt.logger.isLevelEnabled('info')) log().info('operation succeeded');
        return { resource: attempt.result.resource };
      case 'refused': // only inline runs are refused; a worker's non-retryable error is parked
        throw new UnrecoverableError('operation refused');
      case 'wait':
        log().warn({ code: attempt.error.code, system: attempt.system, decision: 'wait' }, 'operation run failed');
        return await delay(job, attempt.until, token);
      case 'retry':
        log().warn({ code: attempt.error.code, system: attempt.system, decision: 'retry' }, 'operation run failed');
        throw new RetryableOperationError(attempt.error, attempt.system, attempt.failures);
      case 'parked':
        log().warn({ code: attempt.error.code, system: attempt.system, decision: 'dead_letter' }, 'operation run failed');
        throw new UnrecoverableError(`${attempt.error.code}: ${attempt.error.message}`);
    }
  } finally {
    await lease.release();
  }
}

/**
 * Safety net for failures that did not go through `park` (a job that stalled too often
 * because its workers kept crashing, or an infrastructure error on the last attempt).
 */
async function onFinalFailure(rt: OperationsRuntime, job: Job<OperationJobData>, err: Error): Promise<void> {
  try {
    if (!job.finishedOn) return; // BullMQ will retry it
    const op = await rt.store.get(job.data.operationId);
    if (!op || op.status === 'failed' || op.status === 'succeeded') return;
    const stalled = /stalled/i.test(err.message);
    const error: StoredError = isGatewayErrorLike(err)
      ? toStoredError(err)
      : {
          name: 'JobFailedError',
          kind: 'unavailable',
          code: stalled ? 'operation.stalled' : 'operation.job_failed',
          message: stalled ? 'The job was interrupted too many times (worker crashes)' : 'The job failed outside the handler',
          retryable: false,
          fields: [],
        };
    await rt.runner.parkBefore(op, error, stalled ? 'stalled' : 'attempts_exhausted');
  } catch (e) {
    rt.logger.error({ err: e, operationId: job.data.operationId }, 'could not dead-letter a failed job');
  }
}
