import type { CallContext } from '../../domain/call-context.ts';
import type { Resume, Services } from '../../domain/services/types.ts';
import type { LegacySystem, OperationInputs, OperationKind, ResourceRef } from '../types.ts';

/** One legacy step of an operation, in order; `done` reads the stored progress. */
export interface StepDefinition<P> {
  name: string;
  system: LegacySystem;
  done: (progress: P) => boolean;
}

export interface HandlerResult {
  /** a new resource (not one that existed already or was changed) */
  created: boolean;
  body: unknown;
  resource: ResourceRef;
}

/**
 * How one operation kind is applied: which `Services` method, with which resume progress.
 * `run` gets the input opened (IBAN in clear) and must not keep it anywhere.
 */
export interface OperationHandler<K extends OperationKind = OperationKind, P extends object = object> {
  kind: K;
  steps: readonly StepDefinition<P>[];
  run(services: Services, input: OperationInputs[K], ctx: CallContext, resume: Resume<P>): Promise<HandlerResult>;
}

/** Progress of single-call operations: the legacy call is idempotent, so there is nothing to resume. */
export type NoProgress = Record<string, never>;
