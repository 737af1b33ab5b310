import { context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTracing, TRACER_NAME, type Tracing } from './tracing.ts';

let started: Tracing | null = null;
afterEach(async () => {
  await started?.shutdown();
  started = null;
});

describe('startTracing', () => {
  it('when the exporter is none, then it returns null and registers nothing with the API', async () => {
    const exporter = new InMemorySpanExporter();
    started = await startTracing({ exporter: 'none', serviceName: 'x' }, { exporter });
    expect(started).toBeNull();
    const span = trace.getTracer('probe').startSpan('probe');
    expect(span.isRecording()).toBe(false);
    span.end();
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('when on, then spans are exported with the service name and the active span is carried across awaits', async () => {
    const exporter = new InMemorySpanExporter();
    started = await startTracing({ exporter: 'otlp', serviceName: 'lgw-test' }, { exporter });
    const tracer = started?.tracer;
    expect(tracer).toBeDefined();
    await tracer?.startActiveSpan('outer', async (outer) => {
      await new Promise((r) => setTimeout(r, 5));
      tracer.startSpan('inner').end(); // parent taken from the active context after an await
      outer.end();
    });
    const [inner, outer] = exporter.getFinishedSpans();
    expect(inner?.parentSpanContext?.spanId).toBe(outer?.spanContext().spanId);
    expect(outer?.resource.attributes['service.name']).toBe('lgw-test');
    expect(outer?.instrumentationScope.name).toBe(TRACER_NAME);
  });

  it('when on, then the W3C traceparent is read by the global propagator', async () => {
    started = await startTracing({ exporter: 'otlp', serviceName: 'x' }, { exporter: new InMemorySpanExporter() });
    const ctx = propagation.extract(ROOT_CONTEXT, { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
    expect(trace.getSpanContext(ctx)?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });

  it('when shut down (twice), then the last spans are exported and the API is unregistered for the next start', async () => {
    const exported: string[] = [];
    // InMemorySpanExporter forgets its spans on shutdown: keep the names as they are exported
    const exporter = new (class extends InMemorySpanExporter {
      override export(...args: Parameters<InMemorySpanExporter['export']>): void {
        exported.push(...args[0].map((s) => s.name));
        super.export(...args);
      }
    })();
    const tracing = await startTracing({ exporter: 'otlp', serviceName: 'x' }, { exporter });
    tracing?.tracer.startSpan('last').end();
    await Promise.all([tracing?.shutdown(), tracing?.shutdown()]);
    expect(exported).toEqual(['last']);
    expect(context.with(trace.setSpan(ROOT_CONTEXT, trace.wrapSpanContext({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 })), () => trace.getSpan(context.active()))).toBeUndefined();
  });

  it('when the collector never answers, then the shutdown gives up after flushTimeoutMs', async () => {
    // a collector that accepts the connection and then says nothing (the OTLP exporter would wait 10 s)
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const saved = process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
    process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = `http://127.0.0.1:${port}/v1/traces`;
    try {
      // the real exporter (OTLP/HTTP, batched), as in production
      const tracing = await startTracing({ exporter: 'otlp', serviceName: 'x' }, { flushTimeoutMs: 50 });
      tracing?.tracer.startSpan('lost').end();
      const began = Date.now();
      await tracing?.shutdown();
      expect(Date.now() - began).toBeLessThan(2_000);
    } finally {
      if (saved === undefined) delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
      else process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = saved;
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
