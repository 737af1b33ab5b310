import type { OperationKind } from '../types.ts';
import { merchantOnboard } from './merchant-onboard.ts';
import { merchantUpdate } from './merchant-update.ts';
import { partnerCreate } from './partner-create.ts';
import { terminalOrder } from './terminal-order.ts';
import { terminalSettings } from './terminal-settings.ts';
import { terminalStatus } from './terminal-status.ts';
import type { OperationHandler } from './types.ts';

export type { OperationHandler, StepDefinition, HandlerResult } from './types.ts';

/** One handler per operation kind. */
export const HANDLERS: { [K in OperationKind]: OperationHandler<K, object> } = {
  'merchant.onboard': merchantOnboard as OperationHandler<'merchant.onboard', object>,
  'merchant.update': merchantUpdate as OperationHandler<'merchant.update', object>,
  'partner.create': partnerCreate as OperationHandler<'partner.create', object>,
  'terminal.order': terminalOrder as OperationHandler<'terminal.order', object>,
  'terminal.status': terminalStatus as OperationHandler<'terminal.status', object>,
  'terminal.settings': terminalSettings as OperationHandler<'terminal.settings', object>,
};

/** The first step not done yet for this progress (the last one when all report done). */
export function nextStep<P extends object>(handler: OperationHandler<OperationKind, P>, progress: P) {
  const steps = handler.steps;
  const next = steps.find((s) => !s.done(progress)) ?? steps[steps.length - 1];
  if (!next) throw new Error(`handler ${handler.kind} declares no steps`);
  return next;
}
