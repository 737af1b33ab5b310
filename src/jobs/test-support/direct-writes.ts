import type { Services } from '../../domain/services/types.ts';
import { HANDLERS } from '../handlers/index.ts';
import type { OperationInputs, OperationKind, SubmitContext, SubmitResult } from '../types.ts';

/**
 * Applies writes synchronously through the services, with no queue behind them: for API tests
 * that run without Redis. Never answers `accepted`; errors propagate. Not for production: the
 * gateway always passes the durable operations (src/jobs/operations.ts) as `writes`.
 */
export function directWrites(services: Services) {
  return {
    async submit<K extends OperationKind>(kind: K, input: OperationInputs[K], ctx: SubmitContext): Promise<SubmitResult> {
      const handler = HANDLERS[kind];
      const r = await handler.run(services, input, { requestId: ctx.requestId }, { progress: {}, onProgress: async () => undefined });
      return { outcome: 'completed', created: r.created, body: r.body, resource: r.resource };
    },
  };
}
