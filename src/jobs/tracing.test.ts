import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTracing, type Tracing } from '../infra/tracing.ts';
import { RetryableOperationError } from './errors/retryable-operation-error.ts';
import { traceAttempts, withTraceContext } from './tracing.ts';
import type { OperationJobData } from './types.ts';

const exporter = new InMemorySpanExporter();
let tracing: Tracing;
beforeAll(async () => {
  const started = await startTracing({ exporter: 'otlp', serviceName: 'jobs-test' }, { exporter });
  if (!started) throw new Error('tracing did not start');
  tracing = started;
});
afterAll(() => tracing.shutdown());
beforeEach(() => exporter.reset());

const DATA: OperationJobData = { operationId: 'op_1', kind: 'merchant.onboard', requestId: 'req-1' };
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN = '00f067aa0ba902b7';

function job(data: OperationJobData, attemptsMade = 0): Job<OperationJobData> {
  return { data, queueName: 'ops-crm', attemptsMade } as Job<OperationJobData>;
}

describe('withTraceContext', () => {
  it('when no span is active, then the job data is returned as it is (no copy)', () => {
    expect(withTraceContext(DATA)).toBe(DATA);
  });

  it('when a span is active, then the data gains its traceparent and nothing else', () => {
    const data = tracing.tracer.startActiveSpan('request', (span) => {
      span.end();
      return withTraceContext(DATA);
    });
    const [request] = exporter.getFinishedSpans();
    expect(data).toEqual({ ...DATA, traceparent: `00-${request?.spanContext().traceId}-${request?.spanContext().spanId}-01` });
  });
});

describe('traceAttempts', () => {
  it('when the job carries a traceparent, then the attempt is its child, active while the processor runs', async () => {
    const run = traceAttempts(tracing.tracer, async () => {
      tracing.tracer.startSpan('legacy call').end();
      return { resource: { type: 'merchant', id: 'M1', href: '/v1/merchants/M1' } };
    });
    await run(job({ ...DATA, traceparent: `00-${TRACE_ID}-${PARENT_SPAN}-01` }, 2));
    const [call, attempt] = exporter.getFinishedSpans();
    expect(attempt).toMatchObject({
      name: 'operation attempt',
      kind: SpanKind.CONSUMER,
      attributes: { 'messaging.system': 'bullmq', 'messaging.destination.name': 'ops-crm', 'operation.kind': 'merchant.onboard', 'job.attempt': 3, 'job.outcome': 'succeeded' },
    });
    expect(attempt?.spanContext().traceId).toBe(TRACE_ID);
    expect(attempt?.parentSpanContext?.spanId).toBe(PARENT_SPAN);
    expect(call?.parentSpanContext?.spanId).toBe(attempt?.spanContext().spanId);
    expect(trace.getActiveSpan()).toBeUndefined();
  });

  it('when the job carries none, then the attempt starts a trace of its own', async () => {
    await traceAttempts(tracing.tracer, async () => ({ skipped: 'already_succeeded' }))(job(DATA));
    const [attempt] = exporter.getFinishedSpans();
    expect(attempt?.parentSpanContext).toBeUndefined();
    expect(attempt?.attributes['job.outcome']).toBe('skipped');
  });

  it.each([
    [new DelayedError(), 'delayed', SpanStatusCode.UNSET],
    [new RetryableOperationError({ name: 'UnavailableError', kind: 'unavailable', code: 'crm.unavailable', message: 'm', retryable: true, fields: [] }, 'crm', 1), 'retry', SpanStatusCode.ERROR],
    [new UnrecoverableError('crm.E400: refused'), 'dead_letter', SpanStatusCode.ERROR],
    [new Error('redis went away'), 'failed', SpanStatusCode.ERROR],
  ])('when the processor throws %s, then the outcome is %s and the error is rethrown', async (err, outcome, status) => {
    await expect(traceAttempts(tracing.tracer, () => Promise.reject(err))(job(DATA))).rejects.toBe(err);
    const [attempt] = exporter.getFinishedSpans();
    expect(attempt?.attributes['job.outcome']).toBe(outcome);
    expect(attempt?.status.code).toBe(status);
    // the span holds the outcome only, never the (sanitised, still legacy-worded) message
    expect(attempt?.events).toEqual([]);
  });
});
