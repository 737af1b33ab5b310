import { describe, expectTypeOf, it } from 'vitest';
import type { Metrics } from '../../infra/metrics.ts';
import type { BatchMetricsSink } from './exchange.ts';

// The exchange owns its port (BatchMetricsSink); the metrics module spells the same labels out
// without importing from the job layer. Method parameters are compared bivariantly when the one
// is passed as the other, so an outcome added on one side only would compile: these checks, run
// by the typecheck of `npm test`, make the label sets equal.
describe('the batch counters and the exchange port (type checks)', () => {
  it('every counter takes exactly the labels the exchange reports', () => {
    expectTypeOf<Parameters<Metrics['batch']['answer']>[0]>().toEqualTypeOf<Parameters<BatchMetricsSink['answer']>[0]>();
    expectTypeOf<Parameters<Metrics['batch']['records']>>().toEqualTypeOf<Parameters<BatchMetricsSink['records']>>();
    expectTypeOf<Parameters<Metrics['batch']['scheduledExport']>[0]>().toEqualTypeOf<Parameters<BatchMetricsSink['scheduledExport']>[0]>();
  });
});
