import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { LEGACY_BACKOFF_TYPE, jobAttempts, type RetryPolicy } from './retry-policy.ts';
import { withTraceContext } from './tracing.ts';
import type { LegacySystem, OperationJobData, OperationKind } from './types.ts';

/** BullMQ queue names, one per legacy system so a TMO outage is visible apart from CRM's. */
export const QUEUE_NAMES: Record<LegacySystem, string> = { tmo: 'ops-tmo', crm: 'ops-crm' };

/** The queue an operation kind goes to: the system its first (and main) step calls. */
export const PRIMARY_SYSTEM: Record<OperationKind, LegacySystem> = {
  'merchant.onboard': 'crm',
  'merchant.update': 'crm',
  'partner.create': 'crm',
  'terminal.order': 'tmo',
  'terminal.status': 'tmo',
  'terminal.settings': 'tmo',
};

/** Job ids are `{operationId}-r{run}`: BullMQ ignores an add with an existing id, so each re-enqueue needs a fresh one. */
export function jobIdOf(operationId: string, run: number): string {
  return `${operationId}-r${run}`;
}

export interface OperationQueues {
  readonly byName: Record<LegacySystem, Queue<OperationJobData>>;
  /** Every queue, e.g. for the queue console. */
  readonly all: readonly Queue<OperationJobData>[];
  enqueue(data: OperationJobData, run: number, delayMs?: number): Promise<Job<OperationJobData>>;
  getJob(kind: OperationKind, jobId: string): Promise<Job<OperationJobData> | undefined>;
  close(): Promise<void>;
}

/**
 * The operation queues. Finished jobs are removed by age (`OPERATION_RETENTION_DAYS`): set on the
 * job options, which is where BullMQ reads them when a job completes or fails for good (a
 * Worker's own `removeOnFail` applies only to jobs that carry none). Failed jobs stay as long as
 * operation records do: the dead-letter store is the operator's view, the failed set the
 * forensic one.
 */
export function createQueues(opts: {
  connection: Redis;
  prefix: string;
  policy: RetryPolicy;
  /** told about connection errors (a Redis restart); without a listener BullMQ prints them to stderr */
  onError?: (err: Error) => void;
  /** age (seconds) after which completed and failed jobs are removed; default 30 days */
  finishedJobAgeSeconds?: number;
}): OperationQueues {
  const age = opts.finishedJobAgeSeconds ?? 30 * 86_400;
  const make = (system: LegacySystem) => {
    const q = new Queue<OperationJobData>(QUEUE_NAMES[system], {
      connection: opts.connection,
      prefix: opts.prefix,
      defaultJobOptions: {
        attempts: jobAttempts(opts.policy),
        backoff: { type: LEGACY_BACKOFF_TYPE },
        removeOnComplete: { age, count: 10_000 },
        removeOnFail: { age },
        // The stack of a failure is kept in Redis by BullMQ; ours are sanitized, but keep them short.
        stackTraceLimit: 0,
      },
    });
    q.on('error', (err) => opts.onError?.(err));
    return q;
  };
  const byName: Record<LegacySystem, Queue<OperationJobData>> = { tmo: make('tmo'), crm: make('crm') };
  const all = [byName.tmo, byName.crm];
  let closing: Promise<void> | undefined;

  return {
    byName,
    all,
    async enqueue(data, run, delayMs = 0) {
      const q = byName[PRIMARY_SYSTEM[data.kind]];
      // tracing on: the enqueuing request's traceparent rides along (tracing.ts); off, `data` as it is
      return q.add(data.kind, withTraceContext(data), { jobId: jobIdOf(data.operationId, run), delay: delayMs });
    },
    async getJob(kind, jobId) {
      return byName[PRIMARY_SYSTEM[kind]].getJob(jobId);
    },
    close() {
      // Idempotent, and every queue is closed even if another one throws.
      closing ??= Promise.allSettled(all.map((q) => q.close())).then((rs) => {
        const failed = rs.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      });
      return closing;
    },
  };
}
