import type { Logger } from 'pino';
import type { CircuitStateView, CircuitStatusPort } from '../domain/circuit.port.ts';
import type { LastKnownPort } from '../domain/read-model.port.ts';
import type { Services } from '../domain/services/types.ts';
import type { DeadLetters } from './dead-letters.ts';
import type { LastKnownStore, LastKnownWrite } from './last-known.ts';
import { HANDLERS, nextStep, type HandlerResult, type OperationHandler } from './handlers/index.ts';
import { isLeaseLost, LeaseLostError } from './errors/lease-lost-error.ts';
import { storeUnavailable } from './errors/store-unavailable-error.ts';
import type { Lease, OperationRecord, OperationStore } from './operation-store.ts';
import type { OrderSlots } from './order-slots.ts';
import { park } from './park.ts';
import { openPayload, sealPayload, type PayloadCipher } from './payload.ts';
import { backoffDelay, decideFailure, type RetryPolicy } from './retry-policy.ts';
import { toStoredError } from './sanitize.ts';
import { isLegacySystem, type LegacySystem, type OperationInputs, type OperationKind, type StepRecord, type StoredError } from './types.ts';

export type RunOutcome =
  | { ok: true; result: HandlerResult }
  | { ok: false; err: unknown; system: LegacySystem; step: string };

/**
 * What one attempt ended in, after its bookkeeping is written (under the caller's lease). The
 * caller only moves its job: the inline request answers, the worker tells BullMQ.
 */
export type AttemptOutcome =
  /** another order of the merchant is in flight: nothing ran, nothing was written */
  | { outcome: 'slot_busy' }
  /**
   * the caller's lease was lost (`Lease.lost`): the run stopped before its next legacy call and
   * wrote nothing after it learned it (no failure, no status, no dead letter) — the lease's new
   * holder owns the record; the caller's job waits and looks again, as for a busy lease
   */
  | { outcome: 'lease_lost' }
  /** recorded as succeeded, the order slot released, any dead letter resolved */
  | { outcome: 'succeeded'; result: HandlerResult }
  /** inline only: a non-retryable error goes back to the caller; recorded failed, no dead letter */
  | { outcome: 'refused'; err: unknown }
  /** dead-lettered (failure counted, operation failed) */
  | { outcome: 'parked'; error: StoredError; system: LegacySystem; reason: string }
  /** the system's breaker is open: queued again without spending budget, run again at `until` */
  | { outcome: 'wait'; error: StoredError; system: LegacySystem; until: number }
  /** failure counted (`failures` on this system so far), queued again; `delayMs` is the policy's backoff */
  | { outcome: 'retry'; error: StoredError; system: LegacySystem; failures: number; delayMs: number };

/** The handler result of one resource type. */
type Of<T extends HandlerResult['resource']['type']> = Extract<HandlerResult, { resource: { type: T } }>;

function handlerOf(kind: OperationKind): OperationHandler<OperationKind, object> {
  return HANDLERS[kind] as OperationHandler<OperationKind, object>;
}

/** The step records of a new operation of this kind. */
export function initialSteps(kind: OperationKind): StepRecord[] {
  return handlerOf(kind).steps.map((s) => ({
    name: s.name,
    system: s.system,
    outcome: 'pending',
    attempts: 0,
    startedAt: null,
    finishedAt: null,
    lastErrorCode: null,
  }));
}

function succeedStep(rec: StepRecord, at: string): void {
  if (rec.outcome === 'succeeded') return;
  rec.outcome = 'succeeded';
  rec.finishedAt = at;
  if (rec.attempts === 0) rec.attempts = 1;
}

/**
 * Brings the step records in line with the progress: finished steps succeeded, the next one
 * running (its attempts counted, its start time set once). Returns the next step.
 */
function syncSteps(handler: OperationHandler<OperationKind, object>, steps: StepRecord[], progress: object, at: string) {
  const next = nextStep(handler, progress);
  for (const def of handler.steps) {
    const rec = steps.find((s) => s.name === def.name);
    if (!rec) continue;
    if (def !== next && def.done(progress)) {
      succeedStep(rec, at);
    } else if (def === next && rec.outcome !== 'running') {
      rec.outcome = 'running';
      rec.attempts += 1;
      rec.startedAt ??= at;
      rec.finishedAt = null; // a retry after a failed attempt: running again, not finished
    }
  }
  return next;
}

/**
 * The steps a run of an operation that never ran (its record as `submit` wrote it: `queued`, no
 * attempt, progress {}) writes with `running`: what `runOnce` computes for it, for the worker's
 * lease script to write in the same command as it takes the lease (`acquireLeaseAndGet`).
 */
export function freshRunSteps(kind: OperationKind, at: string): StepRecord[] {
  const steps = initialSteps(kind);
  syncSteps(handlerOf(kind), steps, {}, at);
  return steps;
}

/** The breaker state of a legacy system (the port's cheap `stateOf`, read for every job). */
export function circuitOf(circuits: CircuitStatusPort, system: LegacySystem): CircuitStateView | undefined {
  try {
    return circuits.stateOf(system);
  } catch {
    return undefined; // a broken status port must not stop the jobs; the call itself will tell
  }
}

/**
 * Runs one attempt of an operation from its stored progress and writes what came of it: the
 * single code path shared by the inline (synchronous) request and the BullMQ worker, so both
 * persist progress, count failures, retry and dead-letter the same way. The caller holds the
 * operation lease and moves its job according to the `AttemptOutcome`.
 */
export function createRunner(deps: {
  store: OperationStore;
  services: Services;
  cipher: PayloadCipher;
  deadLetters: DeadLetters;
  orderSlots: OrderSlots;
  policy: RetryPolicy;
  circuits: CircuitStatusPort;
  logger: Logger;
  /** how long an operation refused inline stays readable (OPERATION_RETENTION_DAYS) */
  refusedTtlMs: number;
  /**
   * The last-known copies (stale-if-error reads): every terminal or merchant a write produced is
   * remembered here, inline or in a worker, as this is the one place every write completes.
   */
  lastKnown?: LastKnownPort | undefined;
  /** how long a dead letter resolved by a success stays readable (the dead letters' `closedTtlMs`) */
  closedTtlMs: number;
}) {
  const { store, services, cipher, orderSlots, policy } = deps;

  /** The step that would run next and the legacy system it calls. */
  function upcoming(op: Pick<OperationRecord, 'kind' | 'progress'>): { name: string; system: LegacySystem } {
    const s = nextStep(handlerOf(op.kind), openPayload(op.progress, cipher) as object);
    return { name: s.name, system: s.system };
  }

  async function runOnce(op: OperationRecord, ctx: { requestId: string; signal?: AbortSignal }, marked?: StepRecord[], lease?: Lease): Promise<RunOutcome> {
    const handler = handlerOf(op.kind);
    const steps: StepRecord[] = op.steps.length > 0 ? op.steps.map((s) => ({ ...s })) : initialSteps(op.kind);
    let progress = openPayload(op.progress, cipher) as object;

    const sync = () => syncSteps(handler, steps, progress, new Date().toISOString());

    let current: { name: string; system: LegacySystem };
    if (marked) {
      // The lease script already wrote `running` with these steps (`freshRunSteps`: a fresh
      // operation, progress {}), under the lease this run holds: the same write as below.
      steps.splice(0, steps.length, ...marked.map((s) => ({ ...s })));
      current = nextStep(handler, progress);
    } else {
      current = sync();
      await store.markRunning(op.id, steps, op.attempts + 1);
    }
    op.attempts += 1;

    const input = openPayload(op.input, cipher) as OperationInputs[OperationKind];
    try {
      const claimed =
        op.kind === 'terminal.order'
          ? await orderSlots.claimedElsewhere(op).catch((err: unknown) => {
              throw storeUnavailable(err); // a store hiccup, retried; never a non-retryable 500
            })
          : [];
      // Lost already (a renewal said so): not even the first legacy call.
      if (lease?.lost) throw new LeaseLostError();
      const result = await handler.run(services, input, ctx, {
        progress: claimed.length > 0 ? { ...progress, claimedElsewhere: claimed } : { ...progress },
        onProgress: async (p: object) => {
          progress = { ...p };
          current = sync();
          // Progress holds ids only, but it goes through the sealer anyway: it is the one field
          // a future service could extend without anyone re-reading this file.
          // A store failure here must not read as the legacy call's outcome (never retryable,
          // a 500): it is an unavailable store, retried like any unavailable system.
          // Under a lease the write is token-checked in the same script: refused, the lease was
          // taken over and the service must not make its next legacy call (it gets this error).
          const saved = await store.saveProgress(op.id, sealPayload(progress, cipher) as object, steps, lease).catch((err: unknown) => {
            throw storeUnavailable(err);
          });
          if (saved === 'lease_lost' || lease?.lost) throw new LeaseLostError();
        },
      });
      const at = new Date().toISOString();
      for (const rec of steps) succeedStep(rec, at);
      op.steps = steps;
      return { ok: true, result };
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      const rec = steps.find((s) => s.name === current.name);
      if (rec) {
        rec.outcome = 'failed';
        rec.finishedAt = new Date().toISOString(); // when its last attempt ended
        rec.lastErrorCode = typeof code === 'string' ? code : 'gateway.internal';
      }
      op.steps = steps;
      op.progress = sealPayload(progress, cipher) as Record<string, unknown>;
      const errSystem = (err as { system?: unknown } | null)?.system;
      return {
        ok: false,
        err,
        system: isLegacySystem(errSystem) ? errSystem : current.system,
        step: current.name,
      };
    }
  }

  /**
   * One attempt with its bookkeeping: the merchant's order slot, the run, then succeeded, or
   * the failure decided by the retry policy (`decideFailure`) and written. `inline`: the
   * caller is the request itself, which gets a non-retryable error back instead of a dead
   * letter. `enqueuedAt`: when the operation's job was enqueued (the age limit counts from it).
   */
  async function attempt(
    op: OperationRecord,
    ctx: { requestId: string; signal?: AbortSignal },
    opts: {
      inline: boolean;
      enqueuedAt: number;
      /** the caller's operation lease: a success releases it with its last write (one round trip) */
      lease?: Lease;
      /**
       * The steps the caller's lease script already wrote with `running` (`freshRunSteps`), so
       * the run does not write them again. Only for an operation that never ran and takes no order slot.
       */
      marked?: StepRecord[];
    },
  ): Promise<AttemptOutcome> {
    if (!(await orderSlots.acquire(op))) return { outcome: 'slot_busy' };
    const run = await runOnce(op, ctx, opts.marked, opts.lease);
    // Stopped because the lease was lost (a refused save, or a renewal answered 0), or failed
    // after it was: write nothing more, the failure bookkeeping belongs to the lease's holder. A
    // run that succeeded is recorded all the same: legacy applied every step, and not recording
    // it would have the job's next run send the last one again.
    if (!run.ok && (isLeaseLost(run.err) || opts.lease?.lost)) return { outcome: 'lease_lost' };

    // Every status write below happens under the caller's lease, so the next runner reads it.
    if (run.ok) {
      // The legacy system has just confirmed this state: its last-known copy is written whatever
      // happens to the bookkeeping — by the success script below when the store can hand the SET
      // over (one command less per write), else at once, fire-and-forget, as `remember`.
      const copy = prepareCopy(run.result);
      if (!copy) remember(run.result);
      try {
        if (op.kind === 'terminal.order') await orderSlots.claim(op, run.result.resource.id);
        // One script: succeeded, any dead letter resolved (a retried one, or an open one left by a
        // crash inside `park`), the copy, and the caller's lease released — nothing is written after it.
        const copied = await store.finishSucceeded(op.id, run.result.resource, op.steps, deps.closedTtlMs, opts.lease, copy);
        if (copy && !copied) sendCopy(copy);
      } catch (err) {
        if (copy) sendCopy(copy);
        throw err;
      }
      await orderSlots.release(op);
      return { outcome: 'succeeded', result: run.result };
    }

    await store.noteFailure(op.id);
    const error = toStoredError(run.err);
    const now = Date.now();
    // The per-system counter on the record includes the inline run: both count against one budget.
    const decision = decideFailure({
      err: run.err,
      system: run.system,
      policy,
      failedRuns: op.failures[run.system],
      enqueuedAt: opts.enqueuedAt,
      now,
      circuit: circuitOf(deps.circuits, run.system),
    });
    switch (decision.action) {
      case 'wait':
        // The breaker is open: the run was not a fair attempt, it spends no budget.
        await store.markQueued(op.id, op.steps, error);
        return { outcome: 'wait', error, system: run.system, until: decision.until };
      case 'retry': {
        const failures = await store.countFailure(op.id, run.system);
        await store.markQueued(op.id, op.steps, error);
        return { outcome: 'retry', error, system: run.system, failures, delayMs: backoffDelay(policy, run.system, failures) };
      }
      case 'dead_letter':
        if (opts.inline && decision.reason === 'not_retryable') {
          // refused inline (no dead letter: the caller gets the error): kept for the retention only
          await store.markFailed(op.id, error, op.steps, deps.refusedTtlMs);
          await orderSlots.release(op);
          return { outcome: 'refused', err: run.err };
        }
        // Inline with a budget of one attempt, too: accepted all the same (something may have
        // been applied), and visible to the operators.
        await store.countFailure(op.id, run.system);
        await park({ store, deadLetters: deps.deadLetters, orderSlots, logger: deps.logger }, op, error, run.system, run.step, decision.reason);
        return { outcome: 'parked', error, system: run.system, reason: decision.reason };
    }
  }

  /** The last-known store, when it can hand its SET over to the success script. */
  const copies = deps.lastKnown && 'prepare' in deps.lastKnown ? (deps.lastKnown as LastKnownStore) : undefined;

  /** The SET of the resource's last-known copy for the success script; null: `remember` it instead (or nothing to write). */
  function prepareCopy(result: HandlerResult): LastKnownWrite | null {
    const lastKnown = copies;
    if (!lastKnown) return null;
    if (result.resource.type === 'terminal') return lastKnown.prepare('terminal', result.resource.id, (result as Of<'terminal'>).body);
    if (result.resource.type === 'merchant') return lastKnown.prepare('merchant', result.resource.id, (result as Of<'merchant'>).body);
    return null;
  }

  /** A prepared copy the success script did not write: sent on its own, fire-and-forget, as `remember` does. */
  function sendCopy(copy: LastKnownWrite): void {
    copies?.send(copy);
  }

  /** Keeps the resource a write produced as its last-known copy (never throws, never waits). */
  function remember(result: HandlerResult): void {
    const lastKnown = deps.lastKnown;
    if (!lastKnown) return;
    // TypeScript does not narrow a union on a nested tag; HandlerResult pairs each tag with its body.
    if (result.resource.type === 'terminal') lastKnown.remember('terminal', result.resource.id, (result as Of<'terminal'>).body);
    else if (result.resource.type === 'merchant') lastKnown.remember('merchant', result.resource.id, (result as Of<'merchant'>).body);
  }

  /** Parks an operation the caller gave up on before running it (age limit, stalled job). */
  function parkBefore(op: OperationRecord, error: StoredError, reason: 'max_age' | 'stalled' | 'attempts_exhausted'): Promise<void> {
    const next = upcoming(op);
    return park({ store, deadLetters: deps.deadLetters, orderSlots, logger: deps.logger }, op, error, next.system, next.name, reason);
  }

  return { upcoming, attempt, parkBefore };
}

export type Runner = ReturnType<typeof createRunner>;
