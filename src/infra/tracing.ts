/**
 * OpenTelemetry tracing (issue 7): off by default; on, one NodeTracerProvider per process whose
 * spans go to an OTLP/HTTP collector (or the console, for a look on a laptop).
 *
 * Off means off: {@link startTracing} returns null, nothing is registered with the OpenTelemetry
 * API, and the builders get no tracer, so the HTTP middleware, the legacy-call wrapper and the
 * job-attempt wrapper are not installed at all (no span, context or attribute object per
 * request). `bench/facade` measures that path.
 *
 * On, the provider is registered globally (`register()`): the AsyncLocalStorage context manager
 * carries the active span from the HTTP request into the legacy calls and the queued job, and the
 * W3C Trace Context propagator reads `traceparent` and writes it into the job data. The exporter
 * reads its own standard `OTEL_EXPORTER_OTLP_*` variables (endpoint, headers, timeout,
 * certificates) and the SDK its `OTEL_TRACES_SAMPLER*`, `OTEL_BSP_*` and span-limit variables:
 * a deliberate exception to "only config.ts reads the environment", since those are the SDK's
 * documented interface and the headers may hold a collector credential our config should never
 * hold or echo. Which exporter runs (if any) and the service name are decided in config.ts.
 */
import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { TracingConfig } from '../config.ts';

/** Instrumentation scope name of every span the gateway makes. */
export const TRACER_NAME = 'legacy-gateway';

export interface Tracing {
  /** the tracer every instrumented layer gets (passed by hand, like the logger) */
  readonly tracer: Tracer;
  /**
   * Exports what is buffered and stops the provider; idempotent. Last step of the shutdown. Gives
   * up after `flushTimeoutMs` (an unreachable collector must not hold the exit to SHUTDOWN_TIMEOUT_MS).
   */
  shutdown(): Promise<void>;
}

export interface StartTracingOptions {
  /**
   * Replaces the configured exporter (tests: an `InMemorySpanExporter`); spans then go through a
   * SimpleSpanProcessor, one export per ended span. Tracing still starts only when the
   * configuration turns it on.
   */
  exporter?: SpanExporter;
  /** how long the shutdown waits for the last export. Default 5 s. */
  flushTimeoutMs?: number;
}

async function exporterOf(config: TracingConfig): Promise<SpanExporter> {
  if (config.exporter === 'console') return new (await import('@opentelemetry/sdk-trace-base')).ConsoleSpanExporter();
  return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
}

/**
 * Starts tracing as configured; null (and nothing registered) when it is off. The SDK, exporter
 * and resource modules are imported only then: a process with tracing off never loads them.
 */
export async function startTracing(config: TracingConfig, opts: StartTracingOptions = {}): Promise<Tracing | null> {
  if (config.exporter === 'none') return null;
  const [{ BatchSpanProcessor, SimpleSpanProcessor }, { NodeTracerProvider }, { defaultResource, detectResources, envDetector, resourceFromAttributes }] =
    await Promise.all([import('@opentelemetry/sdk-trace-base'), import('@opentelemetry/sdk-trace-node'), import('@opentelemetry/resources')]);
  const exporter = opts.exporter ?? (await exporterOf(config));
  const provider = new NodeTracerProvider({
    // OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES (envDetector) win over our default name
    resource: defaultResource()
      .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName }))
      .merge(detectResources({ detectors: [envDetector] })),
    spanProcessors: [opts.exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter)],
  });
  provider.register();
  let stopping: Promise<void> | undefined;
  return {
    tracer: provider.getTracer(TRACER_NAME),
    shutdown() {
      const gaveUp = new Promise<void>((resolve) => setTimeout(resolve, opts.flushTimeoutMs ?? 5_000).unref());
      stopping ??= Promise.race([provider.shutdown(), gaveUp]).finally(() => {
        // unregister, so a later start in this process (tests) registers its own
        trace.disable();
        context.disable();
        propagation.disable();
      });
      return stopping;
    },
  };
}
