import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTracing, type Tracing } from '../../../infra/tracing.ts';
import { serverSpans } from './index.ts';

const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let app: Hono;
/** the span active inside the handler (is the request's context the span's?) */
let seenInHandler: string | undefined;

beforeAll(async () => {
  const started = await startTracing({ exporter: 'otlp', serviceName: 'api-test' }, { exporter });
  if (!started) throw new Error('tracing did not start');
  tracing = started;
  app = new Hono();
  app.use('*', serverSpans({ tracer: tracing.tracer }));
  app.get('/v1/things/:id', async (c) => {
    await new Promise((r) => setTimeout(r, 1));
    seenInHandler = trace.getActiveSpan()?.spanContext().spanId;
    return c.json({ id: c.req.param('id') });
  });
  app.get('/boom', () => {
    throw new Error('kaput');
  });
  app.onError((_err, c) => c.json({ title: 'Internal' }, 500));
});
afterAll(() => tracing.shutdown());
beforeEach(() => {
  exporter.reset();
  seenInHandler = undefined;
});

function onlySpan() {
  const spans = exporter.getFinishedSpans();
  expect(spans).toHaveLength(1);
  return spans[0] as NonNullable<(typeof spans)[0]>;
}

describe('serverSpans', () => {
  it('when a request matches a route, then one SERVER span named by the route template carries method, route and status only', async () => {
    const res = await app.request('/v1/things/M123?iban=IT60X0542811101000000123456', { headers: { Authorization: 'Bearer secret-token' } });
    expect(res.status).toBe(200);
    const span = onlySpan();
    expect(span.name).toBe('GET /v1/things/:id');
    expect(span.kind).toBe(SpanKind.SERVER);
    expect(span.attributes).toEqual({ 'http.request.method': 'GET', 'http.route': '/v1/things/:id', 'http.response.status_code': 200 });
    expect(JSON.stringify(span.attributes)).not.toMatch(/M123|IT60|secret-token/);
    expect(seenInHandler).toBe(span.spanContext().spanId);
  });

  it('when the caller sends a W3C traceparent, then the span continues its trace as a child of its span', async () => {
    await app.request('/v1/things/1', { headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } });
    const span = onlySpan();
    expect(span.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(span.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
  });

  it('when the traceparent is malformed, then it is ignored and a new trace starts', async () => {
    await app.request('/v1/things/1', { headers: { traceparent: '00-not-a-trace-01' } });
    expect(onlySpan().parentSpanContext).toBeUndefined();
  });

  it('when the handler fails, then the span records the 500 as an error', async () => {
    expect((await app.request('/boom')).status).toBe(500);
    const span = onlySpan();
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes).toMatchObject({ 'http.response.status_code': 500, 'error.type': '500' });
  });

  it('when nothing matches, then the span is named by the method alone (no caller path in names)', async () => {
    expect((await app.request('/nowhere/secret-path', { method: 'PROPFIND' })).status).toBe(404);
    const span = onlySpan();
    expect(span.name).toBe('_OTHER');
    expect(span.attributes).toEqual({ 'http.request.method': '_OTHER', 'http.response.status_code': 404 });
  });
});
