import type { TerminalOrderProgress } from '../../domain/services/types.ts';
import type { OperationHandler } from './types.ts';

/**
 * OrderTerminal has no natural key: the service snapshots the merchant's terminals before the
 * first send and reconciles with ListTerminals after an ambiguous outcome. When it cannot
 * tell, it throws the non-retryable `terminal.order_unresolved`, which parks the operation as a
 * dead letter for an operator.
 */
export const terminalOrder: OperationHandler<'terminal.order', TerminalOrderProgress> = {
  kind: 'terminal.order',
  steps: [
    { name: 'crm.getCustomer', system: 'crm', done: (p) => p.tmoMerchantId !== undefined },
    { name: 'tmo.listTerminals', system: 'tmo', done: (p) => p.knownTerminalIds !== undefined || p.terminalId !== undefined },
    { name: 'tmo.orderTerminal', system: 'tmo', done: (p) => p.terminalId !== undefined },
    { name: 'tmo.getTerminal', system: 'tmo', done: () => false },
  ],
  async run(services, input, ctx, resume) {
    const terminal = await services.terminals.order(input.merchantId, input.order, ctx, resume);
    return {
      created: true,
      body: terminal,
      resource: { type: 'terminal', id: terminal.id },
    };
  },
};
