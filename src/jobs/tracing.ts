// Trace context across the queue (issue 7): the producer writes the active span's W3C
// `traceparent` into the job data (nothing else: not `tracestate` or baggage, which a caller
// fills with whatever it likes, and never anything of the operation's input), and each worker
// attempt runs in a CONSUMER span that is a child of it — so a write retried by a worker shows
// in the trace of the request that caused it, every attempt and its legacy calls included.
import { context, isSpanContextValid, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import type { Job } from 'bullmq';
import type { OperationJobData } from './types.ts';

/** `data` plus the active trace context; `data` itself (no copy) when there is none (tracing off). */
export function withTraceContext(data: OperationJobData): OperationJobData {
  const active = context.active();
  const span = trace.getSpan(active);
  if (!span || !isSpanContextValid(span.spanContext())) return data;
  const carrier: { traceparent?: string } = {};
  propagation.inject(active, carrier, {
    set: (c, key, value) => {
      if (key === 'traceparent') c.traceparent = value;
    },
  });
  return carrier.traceparent === undefined ? data : { ...data, traceparent: carrier.traceparent };
}

/** How a job attempt ended (`job.outcome`), from what the processor returned or threw. */
export type AttemptOutcome = 'succeeded' | 'skipped' | 'delayed' | 'retry' | 'dead_letter' | 'failed';

function outcomeOfError(err: unknown): AttemptOutcome {
  // by name, not instanceof: BullMQ's own errors and ours are matched as data (STYLE.md)
  const name = (err as { name?: unknown } | null)?.name;
  if (name === 'DelayedError') return 'delayed';
  if (name === 'RetryableOperationError') return 'retry';
  if (name === 'UnrecoverableError') return 'dead_letter';
  return 'failed';
}

/** Two parameters: a third (`signal`) would have BullMQ build an AbortController per job (worker.ts). */
type Processor<R> = (job: Job<OperationJobData>, token?: string) => Promise<R>;

/**
 * Wraps a BullMQ processor: each attempt runs in a CONSUMER span `operation attempt`, a child of
 * the `traceparent` the job carries (a new trace when it carries none), and active while it runs.
 */
export function traceAttempts<R>(tracer: Tracer, processor: Processor<R>): Processor<R> {
  return async function tracedAttempt(job, token) {
    const carried = job.data.traceparent;
    const parent = carried === undefined ? ROOT_CONTEXT : propagation.extract(ROOT_CONTEXT, { traceparent: carried });
    const span = tracer.startSpan(
      'operation attempt',
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'bullmq',
          'messaging.operation.type': 'process',
          'messaging.destination.name': job.queueName,
          'operation.kind': job.data.kind,
          // 1 for the first attempt; moves to delayed (breaker open, lease busy) do not count
          'job.attempt': job.attemptsMade + 1,
        },
      },
      parent,
    );
    try {
      const result = await context.with(trace.setSpan(parent, span), () => processor(job, token));
      span.setAttribute('job.outcome', result !== null && typeof result === 'object' && 'skipped' in result ? 'skipped' : 'succeeded');
      return result;
    } catch (err) {
      const outcome = outcomeOfError(err);
      span.setAttribute('job.outcome', outcome);
      if (outcome !== 'delayed') span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  };
}
