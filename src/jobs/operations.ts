import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import type { CircuitStatusPort } from '../domain/circuit.port.ts';
import type { Services } from '../domain/services/types.ts';
import { createAuditTrail, type AuditTrail } from './audit.ts';
import { createDeadLetters, type DeadLetters } from './dead-letters.ts';
import { createKeys, DEFAULT_PREFIX, type Keys } from './keys.ts';
import { createOperationStore, newOperationId, toView, type OperationStore } from './operation-store.ts';
import { sealPayload, type PayloadCipher } from './payload.ts';
import { createQueues, type OperationQueues } from './queues.ts';
import { createOrderSlots, type OrderSlots } from './order-slots.ts';
import { park } from './park.ts';
import { DEFAULT_RETRY_POLICY, backoffDelay, decideFailure, type RetryPolicy } from './retry-policy.ts';
import { circuitOf, createRunner, initialSteps, type Runner } from './runner.ts';
import { toStoredError } from './sanitize.ts';
import type { OperationInputs, OperationKind, OperationView, SubmitContext, SubmitResult } from './types.ts';

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
  if (!opts.connection && !opts.redisUrl) throw new Error('createOperations needs `connection` or `redisUrl`');
  const redis = opts.connection ?? new Redis(opts.redisUrl ?? '', { maxRetriesPerRequest: null });
  // BullMQ requires `maxRetriesPerRequest: null` and must not share a client with our commands.
  const bullRedis = redis.duplicate({ maxRetriesPerRequest: null });
  const keys = createKeys(opts.prefix ?? DEFAULT_PREFIX);
  const policy = opts.retryPolicy ?? DEFAULT_RETRY_POLICY;
  const logger = opts.logger ?? pino({ level: 'silent' });
  const leaseTtlMs = opts.leaseTtlMs ?? 30_000;
  const inlineGraceMs = opts.inlineGraceMs ?? 60_000;
  const store = createOperationStore(redis, keys, { succeededTtlMs: opts.succeededTtlMs ?? 7 * 24 * 3_600_000 });
  const queues = createQueues({ connection: bullRedis, prefix: keys.bullPrefix, policy });
  const audit = createAuditTrail(redis, keys);
  const deadLetters = createDeadLetters({ redis, keys, store, queues, audit, cipher: opts.cipher });
  const orderSlots = createOrderSlots({ redis, keys, store, cipher: opts.cipher });
  const runner = createRunner({ store, services: opts.services, cipher: opts.cipher, claimedElsewhere: (op) => orderSlots.claimedElsewhere(op) });
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
  };

  async function submit<K extends OperationKind>(kind: K, input: OperationInputs[K], ctx: SubmitContext): Promise<SubmitResult> {
    const id = newOperationId();
    const createdAt = new Date().toISOString();
    const data = { operationId: id, kind, requestId: ctx.requestId };
    const log = logger.child({ operationId: id, kind, requestId: ctx.requestId });
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
    const job = await queues.enqueue(data, 1, inline ? inlineGraceMs : 0);
    await store.create({
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
    });
    if (!inline) {
      log.info(ctx.preferAsync ? 'operation accepted (respond-async)' : `operation accepted: ${first.system} breaker open`);
      return { outcome: 'accepted', operationId: id };
    }

    const lease = await store.acquireLease(id, leaseTtlMs);
    if (!lease) throw new Error(`fresh operation ${id} is already leased`);
    try {
      const op = await store.get(id);
      if (!op) throw new Error(`operation ${id} vanished right after it was created`);
      if (!(await orderSlots.acquire(op))) {
        // Another order of this merchant is still in flight: this one waits its turn in the queue.
        await store.markQueued(id, null, null);
        await job.changeDelay(ORDER_SLOT_WAIT_MS).catch(() => undefined);
        log.info('operation accepted: another order of this merchant is in flight');
        return { outcome: 'accepted', operationId: id };
      }
      const outcome = await runner.runOnce(op, { requestId: ctx.requestId });

      // Status writes happen under the lease, so a worker that takes over reads them.
      if (outcome.ok) {
        if (op.kind === 'terminal.order') await orderSlots.claim(op, outcome.result.resource.id);
        await store.markSucceeded(id, outcome.result.resource, op.steps);
        await orderSlots.release(op);
        // If the job was already picked up it will see `succeeded` and do nothing.
        await job.remove().catch(() => undefined);
        log.info('operation completed inline');
        return {
          outcome: 'completed',
          status: outcome.result.status,
          body: outcome.result.body,
          location: outcome.result.resource.href,
        };
      }

      await store.noteFailure(id);
      const stored = toStoredError(outcome.err);
      const now = Date.now();
      // The inline run is the operation's first attempt: it counts against the system's budget
      // like a worker run (the worker reads the counter from the record).
      const decision = decideFailure({
        err: outcome.err,
        system: outcome.system,
        policy,
        failedRuns: 0,
        enqueuedAt: now,
        now,
        circuit: circuitOf(opts.circuits, outcome.system),
      });
      if (decision.action === 'dead_letter' && decision.reason === 'not_retryable') {
        await store.markFailed(id, stored, op.steps);
        await orderSlots.release(op);
        await job.remove().catch(() => undefined);
        throw outcome.err;
      }
      if (decision.action === 'dead_letter') {
        // A budget of one attempt: nothing left for the worker. Accepted all the same (something
        // may have been applied), and visible to the operators.
        await store.countFailure(id, outcome.system);
        await park({ store, deadLetters, orderSlots, logger }, op, stored, outcome.system, outcome.step, decision.reason);
        await job.remove().catch(() => undefined);
        return { outcome: 'accepted', operationId: id };
      }
      let delayMs: number;
      if (decision.action === 'wait') {
        delayMs = Math.max(1, decision.until - now);
      } else {
        const failures = await store.countFailure(id, outcome.system);
        delayMs = backoffDelay(policy, outcome.system, failures);
      }
      await store.markQueued(id, op.steps, stored);
      await job.changeDelay(delayMs).catch(() => {
        // Not delayed any more (a worker took it, or it was promoted): nothing to reschedule.
      });
      log.warn({ code: stored.code, system: outcome.system }, 'inline run failed, operation accepted for retry');
      return { outcome: 'accepted', operationId: id };
    } finally {
      await lease.release();
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
        await bullRedis.quit().catch((e: unknown) => errors.push(e));
        if (ownsRedis) await redis.quit().catch((e: unknown) => errors.push(e));
        if (errors.length > 0) throw errors[0];
      })();
      return closing;
    },
  };
}
