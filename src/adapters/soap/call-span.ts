// One CLIENT span per legacy call (issue 7): system, operation and outcome, read from the
// classified GatewayError only — never the request values, the reply, or an error message
// (legacy text may hold IBANs; the transport's headers hold the credentials).
import { SpanKind, SpanStatusCode, type Span, type Tracer } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { isGatewayErrorLike } from '../../domain/errors/index.ts';
import type { SoapSystem } from './http-faults.ts';

/** How a legacy call ended, as the span's `legacy.outcome` says it. */
export type LegacyCallOutcome = 'success' | 'fault' | 'timeout' | 'unavailable' | 'breaker_open';

/**
 * The outcome of a failed call: the breaker refused it, it timed out, the system was unreachable
 * or overloaded (bulkhead), or the system answered with a fault (business, validation, not found,
 * conflict — and a reply that broke the contract, which is the system's fault too).
 */
export function callOutcomeOf(err: unknown): Exclude<LegacyCallOutcome, 'success'> {
  if (!isGatewayErrorLike(err)) return 'fault';
  if (err.code.endsWith('.circuit_open')) return 'breaker_open';
  if (err.kind === 'timeout') return 'timeout';
  if (err.kind === 'unavailable') return 'unavailable';
  return 'fault';
}

export interface LegacyCallSpans {
  /** Runs `call` inside a CLIENT span `<SYSTEM> <Operation>`, a child of the active span. */
  run<T>(operation: string, call: () => Promise<T>): Promise<T>;
}

/** The call spans of one system's adapter. */
export function legacyCallSpans(tracer: Tracer, system: SoapSystem): LegacyCallSpans {
  const label = system.toUpperCase();
  const end = (span: Span, outcome: LegacyCallOutcome, code?: string): void => {
    span.setAttribute('legacy.outcome', outcome);
    if (code !== undefined) {
      span.setAttribute('legacy.error_code', code);
      span.setAttribute(ATTR_ERROR_TYPE, code);
    }
    if (outcome !== 'success') span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  };
  return {
    run(operation, call) {
      return tracer.startActiveSpan(
        `${label} ${operation}`,
        { kind: SpanKind.CLIENT, attributes: { 'legacy.system': system, 'legacy.operation': operation } },
        async (span) => {
          try {
            const result = await call();
            end(span, 'success');
            return result;
          } catch (err) {
            end(span, callOutcomeOf(err), isGatewayErrorLike(err) ? err.code : undefined);
            throw err;
          }
        },
      );
    },
  };
}
