import type { CallContext } from '../../domain/call-context.ts';
import type { Merchant, Partner } from '../../domain/model.ts';
import type { MerchantTerminal, Resume, Services } from '../../domain/services/types.ts';
import type { LegacySystem, OperationInputs, OperationKind } from '../types.ts';

/** One legacy step of an operation, in order; `done` reads the stored progress. */
export interface StepDefinition<P> {
  name: string;
  system: LegacySystem;
  done: (progress: P) => boolean;
}

/**
 * What an applied operation produced, in domain terms: the resource as the legacy system now has
 * it (`body`) and its reference. Typed per resource so the runner can keep the last-known copy
 * of terminals and merchants without casting.
 */
export type HandlerResult = {
  /** a new resource (not one that existed already or was changed) */
  created: boolean;
} & (
  | { body: MerchantTerminal; resource: { type: 'terminal'; id: string } }
  | { body: Merchant; resource: { type: 'merchant'; id: string } }
  | { body: Partner; resource: { type: 'partner'; id: string } }
);

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
