import type { NoProgress, OperationHandler } from './types.ts';

/** TMO answers "already in that status" as an idempotent success, so a resend is harmless. */
export const terminalStatus: OperationHandler<'terminal.status', NoProgress> = {
  kind: 'terminal.status',
  steps: [{ name: 'tmo.changeTerminalStatus', system: 'tmo', done: () => false }],
  async run(services, input, ctx) {
    const { terminal } = await services.terminals.changeStatus(input.terminalId, input.status, input.reason, ctx);
    return {
      created: false,
      body: terminal,
      resource: { type: 'terminal', id: terminal.id },
    };
  },
};
