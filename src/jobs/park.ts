import type { Logger } from 'pino';
import type { DeadLetterReason, DeadLetters } from './dead-letters.ts';
import type { OperationRecord, OperationStore } from './operation-store.ts';
import type { OrderSlots } from './order-slots.ts';
import type { LegacySystem, StoredError } from './types.ts';

/**
 * Parks an operation: a dead letter for the operators, then `failed` in the step store.
 *
 * The dead letter is written first on purpose. A crash between the two writes then leaves an
 * open dead letter on an operation that is still queued or running (its job is recovered and,
 * if it succeeds, resolves the dead letter) — never a `failed` operation no operator can see,
 * which the processor would skip for good.
 */
export async function park(
  deps: { store: OperationStore; deadLetters: DeadLetters; orderSlots: OrderSlots; logger: Logger },
  op: OperationRecord,
  error: StoredError,
  system: LegacySystem,
  step: string,
  reason: DeadLetterReason,
): Promise<void> {
  const fresh = (await deps.store.get(op.id)) ?? op;
  await deps.deadLetters.record({ op: fresh, error, system, step, reason });
  await deps.store.markFailed(op.id, error, op.steps);
  // the merchant's next order may send now (an operator's retry takes the slot again)
  await deps.orderSlots.release(op);
  deps.logger.warn({ operationId: op.id, kind: op.kind, code: error.code, system, reason }, 'operation dead-lettered');
}
