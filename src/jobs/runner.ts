import type { CircuitSnapshot, CircuitStatusPort } from '../domain/circuit.port.ts';
import type { Services } from '../domain/services/types.ts';
import { HANDLERS, nextStep, type HandlerResult, type OperationHandler } from './handlers/index.ts';
import { storeUnavailable } from './errors/store-unavailable-error.ts';
import type { OperationRecord, OperationStore } from './operation-store.ts';
import { openPayload, sealPayload, type PayloadCipher } from './payload.ts';
import { LEGACY_SYSTEMS, type LegacySystem, type OperationInputs, type OperationKind, type StepRecord } from './types.ts';

export type RunOutcome =
  | { ok: true; result: HandlerResult }
  | { ok: false; err: unknown; system: LegacySystem; step: string };

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

function isLegacySystem(v: unknown): v is LegacySystem {
  return typeof v === 'string' && (LEGACY_SYSTEMS as readonly string[]).includes(v);
}

/** The breaker snapshot of a legacy system, matched case-insensitively on its name. */
export function circuitOf(circuits: CircuitStatusPort, system: LegacySystem): CircuitSnapshot | undefined {
  try {
    return circuits.circuits().find((c) => c.system.toLowerCase() === system);
  } catch {
    return undefined; // a broken status port must not stop the jobs; the call itself will tell
  }
}

/**
 * Runs one attempt of an operation from its stored progress: the single code path shared by
 * the inline (synchronous) request and the BullMQ worker, so both persist progress the same
 * way. The caller holds the operation lease.
 */
export function createRunner(deps: {
  store: OperationStore;
  services: Services;
  cipher: PayloadCipher;
  /** terminals other orders own, handed to a terminal order so it never adopts one */
  claimedElsewhere?: (op: OperationRecord) => Promise<string[]>;
}) {
  const { store, services, cipher } = deps;

  /** The step that would run next and the legacy system it calls. */
  function upcoming(op: Pick<OperationRecord, 'kind' | 'progress'>): { name: string; system: LegacySystem } {
    const s = nextStep(handlerOf(op.kind), openPayload(op.progress, cipher) as object);
    return { name: s.name, system: s.system };
  }

  async function runOnce(op: OperationRecord, ctx: { requestId: string; signal?: AbortSignal }): Promise<RunOutcome> {
    const handler = handlerOf(op.kind);
    const steps: StepRecord[] = op.steps.length > 0 ? op.steps.map((s) => ({ ...s })) : initialSteps(op.kind);
    let progress = openPayload(op.progress, cipher) as object;

    const now = () => new Date().toISOString();
    // Brings the step records in line with the progress: finished steps succeeded, next one running.
    const sync = () => {
      const next = nextStep(handler, progress);
      for (const def of handler.steps) {
        const rec = steps.find((s) => s.name === def.name);
        if (!rec) continue;
        if (def !== next && def.done(progress)) {
          if (rec.outcome !== 'succeeded') {
            rec.outcome = 'succeeded';
            rec.finishedAt = now();
            if (rec.attempts === 0) rec.attempts = 1;
          }
        } else if (def === next && rec.outcome !== 'running') {
          rec.outcome = 'running';
          rec.attempts += 1;
          rec.startedAt ??= now();
        }
      }
      return next;
    };

    let current = sync();
    await store.markRunning(op.id, steps);

    const input = openPayload(op.input, cipher) as OperationInputs[OperationKind];
    try {
      const claimed =
        op.kind === 'terminal.order' && deps.claimedElsewhere
          ? await deps.claimedElsewhere(op).catch((err: unknown) => {
              throw storeUnavailable(err); // a store hiccup, retried; never a non-retryable 500
            })
          : [];
      const result = await handler.run(services, input, ctx, {
        progress: claimed.length > 0 ? { ...progress, claimedElsewhere: claimed } : { ...progress },
        onProgress: async (p: object) => {
          progress = { ...p };
          current = sync();
          // Progress holds ids only, but it goes through the sealer anyway: it is the one field
          // a future service could extend without anyone re-reading this file.
          // A store failure here must not read as the legacy call's outcome (never retryable,
          // a 500): it is an unavailable store, retried like any unavailable system.
          await store.saveProgress(op.id, sealPayload(progress, cipher) as object, steps).catch((err: unknown) => {
            throw storeUnavailable(err);
          });
        },
      });
      for (const rec of steps) {
        if (rec.outcome !== 'succeeded') {
          rec.outcome = 'succeeded';
          rec.finishedAt = now();
          if (rec.attempts === 0) rec.attempts = 1;
        }
      }
      op.steps = steps;
      return { ok: true, result };
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      const rec = steps.find((s) => s.name === current.name);
      if (rec) {
        rec.outcome = 'failed';
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

  return { runOnce, upcoming };
}

export type Runner = ReturnType<typeof createRunner>;
