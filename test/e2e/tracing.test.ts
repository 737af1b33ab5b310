/**
 * Tracing (issue 7) through the REAL assembled gateway with in-process workers, spans caught by
 * an in-memory exporter: a write whose first (inline) run meets a CRM outage and that a worker
 * then retries yields one trace — the caller's `traceparent`, the server span, the failed and the
 * successful legacy calls and the job attempts — and with the default configuration (tracing
 * off) the same write yields no span at all.
 */
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLIENT_SCOPES, merchantBody, startApiGateway, vatNumber, type ApiSetup } from '../security/api-support.ts';
import { waitFor } from '../acceptance/support.ts';

const CLIENT_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${CLIENT_TRACE_ID}-${CLIENT_SPAN_ID}-01`;

const exporter = new InMemorySpanExporter();
let on: ApiSetup;

beforeAll(async () => {
  on = await startApiGateway(inject('redisUrl'), {
    name: 'tracing-on',
    workers: true,
    spanExporter: exporter,
    env: { OTEL_TRACES_EXPORTER: 'otlp', CRM_RETRY_ATTEMPTS: '20', CRM_RETRY_BACKOFF_MS: '100', CRM_BREAKER_VOLUME_THRESHOLD: '100' },
    token: (k) => k.signToken(CLIENT_SCOPES, { subject: 'client-tracing' }),
  });
}, 60_000);
afterAll(async () => {
  await on?.close();
});


async function succeeded(s: ApiSetup, location: string): Promise<void> {
  await waitFor(
    'the operation to succeed',
    async () => {
      const view = (await (await s.call('GET', location)).json()) as { status: string };
      return view.status === 'succeeded' ? true : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 100 },
  );
}

const attr = (s: ReadableSpan, key: string): unknown => s.attributes[key];

describe('tracing on (OTEL_TRACES_EXPORTER=otlp, in-memory exporter)', () => {
  it('when a write fails inline on a CRM outage and a worker retries it, then every span is in the caller’s trace', async () => {
    on.crm.faults.outageFor(1_500);
    const res = await on.call('POST', '/v1/merchants', {
      body: merchantBody(vatNumber(8_100_000_001)),
      headers: { 'Idempotency-Key': 'trace-1', traceparent: TRACEPARENT, tracestate: 'vendor=x', baggage: 'who=caller' },
    });
    expect(res.status).toBe(202);
    const location = res.headers.get('Location') ?? '';
    await succeeded(on, location);

    const spans = await waitFor('the last attempt span', async () => {
      const all = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === CLIENT_TRACE_ID);
      return all.some((s) => s.name === 'operation attempt' && attr(s, 'job.outcome') === 'succeeded') ? all : undefined;
    }, { timeoutMs: 20_000, intervalMs: 100 });
    const server = spans.filter((s) => s.kind === SpanKind.SERVER);
    expect(server.map((s) => s.name)).toEqual(['POST /v1/merchants']);
    const request = server[0] as ReadableSpan;
    // the caller's span is the parent: its traceparent was honoured, not replaced
    expect(request.parentSpanContext?.spanId).toBe(CLIENT_SPAN_ID);
    expect(request.attributes).toEqual({ 'http.request.method': 'POST', 'http.route': '/v1/merchants', 'http.response.status_code': 202 });

    const crmCalls = spans.filter((s) => s.name === 'CRM CreateCustomer');
    const outcomes = crmCalls.map((s) => attr(s, 'legacy.outcome'));
    expect(outcomes).toContain('unavailable');
    expect(outcomes.at(-1)).toBe('success');
    // the inline run's failed call is the request's child
    expect(crmCalls[0]?.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(crmCalls[0]).toMatchObject({ kind: SpanKind.CLIENT, attributes: { 'legacy.system': 'crm', 'legacy.operation': 'CreateCustomer' } });

    // each worker attempt is a child of the request span; the successful call sits in the last attempt
    const attempts = spans.filter((s) => s.name === 'operation attempt');
    expect(attempts.length).toBeGreaterThanOrEqual(1);
    for (const a of attempts) {
      expect(a.kind).toBe(SpanKind.CONSUMER);
      expect(a.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
      expect(attr(a, 'operation.kind')).toBe('merchant.onboard');
    }
    const last = attempts.find((a) => attr(a, 'job.outcome') === 'succeeded') as ReadableSpan;
    const inLast = spans.filter((s) => s.parentSpanContext?.spanId === last.spanContext().spanId).map((s) => `${s.name} ${String(attr(s, 'legacy.outcome'))}`);
    expect(inLast).toEqual(expect.arrayContaining(['CRM CreateCustomer success', 'TMO RegisterMerchant success', 'CRM AddExternalRef success']));
  }, 40_000);

  it('when the job is queued, then it carries the traceparent and nothing else of the caller’s trace headers', async () => {
    const res = await on.call('POST', '/v1/merchants', {
      body: merchantBody(vatNumber(8_100_000_002)),
      headers: { 'Idempotency-Key': 'trace-2', traceparent: TRACEPARENT, tracestate: 'vendor=x', baggage: 'who=caller', Prefer: 'respond-async' },
    });
    expect(res.status).toBe(202);
    const operationId = (res.headers.get('Location') ?? '').split('/').pop() ?? '';
    const job = await on.gw.operations.queues.getJob('merchant.onboard', `${operationId}-r1`);
    // the job may already be done; its data stays on the finished job
    expect(job?.data).toBeDefined();
    expect(Object.keys(job?.data ?? {}).sort()).toEqual(['kind', 'operationId', 'requestId', 'traceparent']);
    expect(job?.data.traceparent).toMatch(new RegExp(`^00-${CLIENT_TRACE_ID}-[0-9a-f]{16}-01$`));
    expect(job?.data.traceparent).not.toContain(CLIENT_SPAN_ID);
  });

  it('when a request sends no traceparent, then its spans start a trace of their own', async () => {
    exporter.reset();
    const res = await on.call('GET', '/v1/merchants?page=1');
    expect(res.status).toBeLessThan(500);
    const [server] = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
    expect(server?.parentSpanContext).toBeUndefined();
    // the route template, never the query string
    expect(JSON.stringify(server?.attributes)).not.toContain('page=');
  });
});

describe('tracing off (the default configuration)', () => {
  it('when a write runs inline and through a worker, then no span is made', async () => {
    const offExporter = new InMemorySpanExporter();
    const off = await startApiGateway(inject('redisUrl'), {
      name: 'tracing-off',
      workers: true,
      spanExporter: offExporter,
      token: (k) => k.signToken(CLIENT_SCOPES, { subject: 'client-tracing-off' }),
    });
    try {
      const inline = await off.call('POST', '/v1/merchants', { body: merchantBody(vatNumber(8_100_000_003)), headers: { 'Idempotency-Key': 'off-1', traceparent: TRACEPARENT } });
      expect(inline.status).toBe(201);
      const queued = await off.call('POST', '/v1/merchants', {
        body: merchantBody(vatNumber(8_100_000_004)),
        headers: { 'Idempotency-Key': 'off-2', traceparent: TRACEPARENT, Prefer: 'respond-async' },
      });
      expect(queued.status).toBe(202);
      const location = queued.headers.get('Location') ?? '';
      await succeeded(off, location);
      const job = await off.gw.operations.queues.getJob('merchant.onboard', `${location.split('/').pop() ?? ''}-r1`);
      expect(job?.data.traceparent).toBeUndefined();
      expect(offExporter.getFinishedSpans()).toEqual([]);
    } finally {
      await off.close();
    }
  }, 40_000);
});
