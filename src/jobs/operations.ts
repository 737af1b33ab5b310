import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import type { CircuitStatusPort } from '../domain/circuit.port.ts';
import type { LastKnownPort } from '../domain/read-model.port.ts';
import type { Services } from '../domain/services/types.ts';
import { createAuditTrail, type AuditTrail } from './audit.ts';
import { createDeadLetters, type DeadLetters } from './dead-letters.ts';
import { redisClientOptions } from '../infra/redis.ts';
import { createKeys, DEFAULT_PREFIX, type Keys } from './keys.ts';
import { createInstanceLiveness, type InstanceLiveness } from './liveness.ts';
import { storeUnavailable } from './errors/store-unavailable-error.ts';
import { createOperationStore, newOperationId, toView, type Lease, type OperationRecord, type OperationStore } from './operation-store.ts';
import { sealPayload, type PayloadCipher } from './payload.ts';
import { createQueues, jobIdOf, type OperationQueues } from './queues.ts';
import { createOrderSlots, type OrderSlots } from './order-slots.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-policy.ts';
import { circuitOf, createRunner, initialSteps, type Runner } from './runner.ts';
import type { OperationInputs, OperationJobData, OperationKind, OperationView, SubmitContext, SubmitResult } from './types.ts';

export interface CreateOperationsOptions {
  /** An ioredis client to share. Not closed by `close()`; BullMQ gets its own duplicates. */
  connection?: Redis;
  /** Or a URL: the operations open (and close) their own client. */
  redisUrl?: string;
  services: Services;
  /** Seals IBANs before anything reaches Redis (adapter over `src/jobs/crypto`). */
  cipher: PayloadCipher;
  retryPolicy?: RetryPolicy;
  circuits: CircuitStatusPort;
  logger?: Logger;
  /** Redis key prefix (default `lgw`); see `keys.ts` for the layout. */
  prefix?: string;
  /**
   * Delay of the safety job enqueued before an inline run: if the process dies mid-request,
   * a worker picks the operation up from its stored progress after this. Must exceed the
   * longest inline run (legacy timeouts × steps). Default 60 s.
   */
  inlineGraceMs?: number;
  /** TTL of the operation lease, renewed while running. Default 30 s. */
  leaseTtlMs?: number;
  /** How long a succeeded operation stays readable. Default 7 days. */
  succeededTtlMs?: number;
  /** TTL of this process's liveness key (see `liveness.ts`). Default 10 s. */
  livenessMs?: number;
  /**
   * OPERATION_RETENTION_DAYS in ms: closed dead letters (and discarded operations) expire this
   * long after closing; BullMQ's finished jobs are removed at this age. Default 30 days.
   */
  retentionMs?: number;
  /** AUDIT_RETENTION_DAYS in ms: older audit entries are trimmed. Default 400 days. */
  auditRetentionMs?: number;
  /**
   * The last-known copies of terminals and merchants (stale-if-error reads): the runner refreshes
   * them with what every completed write produced, inline or in a worker. None: nothing is kept.
   */
  lastKnown?: LastKnownPort;
}

/** A legacy outcome the inline run rethrows as it is (a 4xx for the caller), told apart from store failures. */
class InlineFailure {
  constructor(readonly cause: unknown) {}
}

/** Runs a store write that must succeed before the write is durable; a failure is a 503 for the caller. */
async function durably<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    throw storeUnavailable(err);
  }
}

/** How long an inline order waits in the queue when another order of its merchant is in flight. */
const ORDER_SLOT_WAIT_MS = 1_000;

/** Everything the workers share with the API side; built once by `createOperations`. */
export interface OperationsRuntime {
  redis: Redis;
  keys: Keys;
  store: OperationStore;
  runner: Runner;
  queues: OperationQueues;
  deadLetters: DeadLetters;
  orderSlots: OrderSlots;
  policy: RetryPolicy;
  circuits: CircuitStatusPort;
  cipher: PayloadCipher;
  logger: Logger;
  leaseTtlMs: number;
  /** this process's liveness: leases and idempotency claims name it */
  liveness: InstanceLiveness;
  /** the last-known copies the runner refreshes (and the API reads while legacy is down) */
  lastKnown: LastKnownPort | undefined;
}

export interface Operations {
  /**
   * Applies a write. With `preferAsync`, or when the system of the first step has an open
   * breaker, or when the inline run fails with a retryable error: `accepted` (the API answers
   * 202 + `Location: /v1/operations/{id}`). Otherwise `completed`. Non-retryable errors are
   * thrown as they are (the API maps them to 4xx/5xx as for any request).
   */
  submit<K extends OperationKind>(kind: K, input: OperationInputs[K], ctx: SubmitContext): Promise<SubmitResult>;
  get(operationId: string): Promise<OperationView | null>;
  /** The view plus the subject that submitted it (for the read check of `GET /v1/operations/{id}`). */
  getWithOwner(operationId: string): Promise<{ view: OperationView; principal: string } | null>;
  readonly deadLetters: DeadLetters;
  readonly audit: AuditTrail;
  readonly queues: OperationQueues;
  /** For `createWorkers` only. */
  readonly runtime: OperationsRuntime;
  /** Closes queues and the Redis client it opened. Idempotent; runs every step. */
  close(): Promise<void>;
}

/**
 * The operations runner: every accepted write is an operation persisted in Redis with its
 * step progress, run inline when possible and otherwise by the BullMQ workers, resuming
 * from the stored progress so no legacy step is applied twice.
 */
export function createOperations(opts: CreateOperationsOptions): Operations {
  const ownsRedis = opts.connection === undefined;
  const logger = opts.logger ?? pino({ level: 'silent' });
  if (!opts.connection && !opts.redisUrl) throw new Error('createOperations needs `connection` or `redisUrl`');
  // Auto-pipelined (issue 8): the commands every job sends in the same event-loop turn (lease and
  // record, running, succeeded — of up to WORKER_CONCURRENCY jobs) leave in one socket write
  // instead of one each. Each command is still sent, answered and awaited as before, in order on
  // the one connection; the write syscalls were the largest share of the worker's CPU per command.
  const redis = opts.connection ?? new Redis(opts.redisUrl ?? '', { ...redisClientOptions('commands'), enableAutoPipelining: true });
  // Reported through /health/ready and the 503s; without a listener a restart is an unhandled event.
  if (ownsRedis) redis.on('error', () => undefined);
  // BullMQ requires `maxRetriesPerRequest: null` and must not share a client with our commands.
  // Offline queue off for the producer: an add during a Redis outage fails at once (→ 503)
  // instead of waiting for the reconnect while the caller waits.
  const bullRedis = redis.duplicate({ ...redisClientOptions('bullmq'), enableOfflineQueue: false });
  bullRedis.on('error', () => undefined);
  const keys = createKeys(opts.prefix ?? DEFAULT_PREFIX);
  const liveness = createInstanceLiveness({ redis, keys, ttlMs: opts.livenessMs ?? 10_000 });
  liveness.start().catch((err: unknown) => logger.warn({ err: { name: (err as Error).name } }, 'liveness key not written yet (Redis away): the heartbeat retries'));
  const policy = opts.retryPolicy ?? DEFAULT_RETRY_POLICY;
  const leaseTtlMs = opts.leaseTtlMs ?? 30_000;
  const inlineGraceMs = opts.inlineGraceMs ?? 60_000;
  const store = createOperationStore(redis, keys, { succeededTtlMs: opts.succeededTtlMs ?? 7 * 24 * 3_600_000, instanceId: liveness.id });
  const retentionMs = opts.retentionMs ?? 30 * 86_400_000;
  const queues = createQueues({
    connection: bullRedis,
    prefix: keys.bullPrefix,
    policy,
    finishedJobAgeSeconds: Math.ceil(retentionMs / 1000),
    // a Redis restart shows in /health/ready and in the 503s; one line per reconnect attempt is noise
    onError: (err) => logger.debug({ err: { name: err.name, code: (err as { code?: unknown }).code } }, 'queue connection error'),
  });
  const audit = createAuditTrail(redis, keys, { ...(opts.auditRetentionMs ? { retentionMs: opts.auditRetentionMs } : {}) });
  const deadLetters = createDeadLetters({ redis, keys, store, queues, audit, cipher: opts.cipher, closedTtlMs: retentionMs });
  const orderSlots = createOrderSlots({ redis, keys, store, cipher: opts.cipher });
  const runner = createRunner({
    store,
    services: opts.services,
    cipher: opts.cipher,
    deadLetters,
    orderSlots,
    policy,
    circuits: opts.circuits,
    logger,
    refusedTtlMs: retentionMs,
    lastKnown: opts.lastKnown,
    closedTtlMs: retentionMs,
  });
  const runtime: OperationsRuntime = {
    redis,
    keys,
    store,
    runner,
    queues,
    deadLetters,
    orderSlots,
    policy,
    circuits: opts.circuits,
    cipher: opts.cipher,
    logger,
    leaseTtlMs,
    liveness,
    lastKnown: opts.lastKnown,
  };

  async function submit<K extends OperationKind>(kind: K, input: OperationInputs[K], ctx: SubmitContext): Promise<SubmitResult> {
    const id = ctx.operationId ?? newOperationId();
    // The child logger only when a line is written (as the worker does): pino serialises its
    // bindings on creation, a cost on every submit while nothing is logged below `info`.
    let child: Logger | undefined;
    const log = (): Logger => (child ??= logger.child({ operationId: id, kind, requestId: ctx.requestId }));
    if (ctx.operationId !== undefined) {
      // A resend bound to an operation that may already exist: resume it, never start another.
      const existing = await durably(() => store.get(id));
      if (existing) return resume(existing, ctx, log);
    }
    const createdAt = new Date().toISOString();
    const data = { operationId: id, kind, requestId: ctx.requestId };
    const first = runner.upcoming({ kind, progress: {} });
    // With the breaker open, calling would fail fast anyway; the worker waits for the breaker
    // without burning attempts.
    const breakerOpen = !ctx.preferAsync && circuitOf(opts.circuits, first.system)?.state === 'open';
    const inline = !ctx.preferAsync && !breakerOpen;

    // The job first, then the record: the two are separate Redis writes, and a crash between
    // them must not leave an operation that no job will ever run (the API may already have
    // promised it). The other way round it leaves a job for an unknown operation, which the
    // worker drops once it is older than its grace (nothing was applied, no answer was given).
    // For an inline run the job is the safety net: should this process die during the run, the
    // delayed job resumes the operation from its stored progress.
    // Until the record is written nothing is durable: a store failure is a 503 (the API never
    // answers 202 for a write it could not record), and nothing was sent to a legacy system.
    const job = await durably(() => queues.enqueue(data, 1, inline ? inlineGraceMs : 0));
    await durably(() =>
      store.create({
        id,
        kind,
        status: inline ? 'running' : 'queued',
        createdAt,
        principal: ctx.principal,
        requestId: ctx.requestId,
        input: sealPayload(input, opts.cipher),
        progress: {},
        steps: initialSteps(kind),
        resource: null,
        error: null,
        attempts: 0,
        run: 1,
      }),
    );
    if (!inline) {
      if (logger.isLevelEnabled('info')) log().info(ctx.preferAsync ? 'operation accepted (respond-async)' : `operation accepted: ${first.system} breaker open`);
      return { outcome: 'accepted', operationId: id };
    }
    return runInline(id, job, ctx, log);
  }

  /**
   * A resend found its operation already recorded: the first request's process died (or its
   * answer was a 503 whose record write nevertheless landed). Finished or in other hands: the
   * caller polls it (202). Still running with its runner gone: run it inline from its stored
   * steps now — for an order, ListTerminals reconciliation before any resend.
   */
  async function resume(op: OperationRecord, ctx: SubmitContext, log: () => Logger): Promise<SubmitResult> {
    const accepted: SubmitResult = { outcome: 'accepted', operationId: op.id };
    if (op.status !== 'running' || ctx.preferAsync) return accepted;
    let job: Job<OperationJobData> | undefined;
    try {
      job = await queues.getJob(op.kind, jobIdOf(op.id, op.run));
    } catch {
      return accepted; // the safety job will run it once the store answers
    }
    if (!job) return accepted;
    log().info('resend of an operation whose runner is gone: resuming it inline');
    return runInline(op.id, job, ctx, log);
  }

  /**
   * The inline run of a recorded operation, under its lease. From here on the operation is
   * durable: a store failure answers 202 (the delayed safety job resumes it from its steps).
   */
  async function runInline(id: string, job: Job<OperationJobData>, ctx: SubmitContext, log: () => Logger): Promise<SubmitResult> {
    const accepted: SubmitResult = { outcome: 'accepted', operationId: id };
    let held: { lease: Lease; op: OperationRecord | null } | null;
    try {
      // the lease and the record read under it, in one round trip
      held = await store.acquireLeaseAndGet(id, leaseTtlMs);
    } catch {
      log().warn('operation store unavailable before the inline run: accepted for the worker');
      return accepted;
    }
    if (!held) return accepted; // a live runner (a worker) has it
    const { lease, op } = held;
    try {
      if (!op) throw new Error(`operation ${id} vanished right after it was created`);
      if (op.status !== 'running') return accepted; // finished meanwhile
      const attempt = await runner.attempt(op, { requestId: ctx.requestId }, { inline: true, enqueuedAt: Date.now(), lease });
      switch (attempt.outcome) {
        case 'slot_busy':
          // Another order of this merchant is still in flight: this one waits its turn in the queue.
          await store.markQueued(id, null, null);
          await job.changeDelay(ORDER_SLOT_WAIT_MS).catch(() => undefined);
          log().info('operation accepted: another order of this merchant is in flight');
          return accepted;
        case 'lease_lost':
          // Taken over while it ran (this process was presumed dead): as for a busy lease, the
          // caller polls; the new holder owns the record, and the safety job stays.
          log().warn('operation lease taken over during the inline run: accepted, left to its new holder');
          return accepted;
        case 'succeeded':
          // If the job was already picked up it will see `succeeded` and do nothing.
          await job.remove().catch(() => undefined);
          if (logger.isLevelEnabled('info')) log().info('operation completed inline');
          return { outcome: 'completed', ...attempt.result };
        case 'refused':
          await job.remove().catch(() => undefined);
          throw new InlineFailure(attempt.err);
        case 'parked':
          await job.remove().catch(() => undefined);
          return accepted;
        case 'wait':
        case 'retry': {
          const delayMs = attempt.outcome === 'wait' ? Math.max(1, attempt.until - Date.now()) : attempt.delayMs;
          await job.changeDelay(delayMs).catch(() => {
            // Not delayed any more (a worker took it, or it was promoted): nothing to reschedule.
          });
          log().warn({ code: attempt.error.code, system: attempt.system }, 'inline run failed, operation accepted for retry');
          return accepted;
        }
      }
    } catch (err) {
      if (err instanceof InlineFailure) throw err.cause;
      // The bookkeeping failed mid-run (Redis went away). The operation and its safety job are
      // recorded: accepted, and resumed from its stored steps by a worker.
      log().warn({ err: { name: (err as Error).name } }, 'operation store failed during the inline run: accepted for the worker');
      return accepted;
    } finally {
      await lease.release().catch(() => undefined);
    }
  }

  let closing: Promise<void> | undefined;
  return {
    submit,
    async get(operationId) {
      const r = await store.get(operationId);
      return r ? toView(r) : null;
    },
    async getWithOwner(operationId) {
      const r = await store.get(operationId);
      return r ? { view: toView(r), principal: r.principal } : null;
    },
    deadLetters,
    audit,
    queues,
    runtime,
    close() {
      closing ??= (async () => {
        const errors: unknown[] = [];
        await queues.close().catch((e: unknown) => errors.push(e));
        await liveness.stop().catch((e: unknown) => errors.push(e));
        await bullRedis.quit().catch((e: unknown) => errors.push(e));
        if (ownsRedis) await redis.quit().catch((e: unknown) => errors.push(e));
        if (errors.length > 0) throw errors[0];
      })();
      return closing;
    },
  };
}
