// The legacy-call spans: the outcome table, and the TMO and CRM adapters against their
// simulators with a tracer — one CLIENT span per call, outcome per CONTRACT.md case, nothing
// of the request, reply or credentials in it.
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BusinessError, NotFoundError, TimeoutError, TranslationError, UnavailableError, ValidationError } from '../../domain/errors/index.ts';
import { startCrmSimulator, startTmoSimulator, type CrmSimulator, type TmoSimulator } from '../../simulators/index.ts';
import { callOutcomeOf } from './call-span.ts';
import { createCrmAdapter, type CrmAdapter } from './crm-adapter.ts';
import { createTmoAdapter, type TmoAdapter } from './tmo-adapter.ts';
import { crmOptions, DEV, tmoOptions } from './testing/options.ts';

describe('callOutcomeOf', () => {
  it.each([
    [new UnavailableError('tmo.circuit_open', 'x'), 'breaker_open'],
    [new TimeoutError('crm.timeout', 'x'), 'timeout'],
    [new UnavailableError('tmo.unavailable', 'x'), 'unavailable'],
    [new UnavailableError('crm.overloaded', 'x'), 'unavailable'],
    [new NotFoundError('merchant.not_found', 'x'), 'fault'],
    [new BusinessError('tmo.E304', 'x'), 'fault'],
    [new ValidationError('crm.validation', 'x'), 'fault'],
    [new TranslationError('tmo.malformed_response', 'x'), 'fault'],
    [new Error('a bug'), 'fault'],
  ])('when the call failed with %s, then the outcome is %s', (err, outcome) => {
    expect(callOutcomeOf(err)).toBe(outcome);
  });
});

describe('legacy call spans through the adapters', () => {
  const exporter = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer('test');
  const ctx = { requestId: 'req-span-1' };
  let tmoSim: TmoSimulator;
  let crmSim: CrmSimulator;
  let tmo: TmoAdapter;
  let crm: CrmAdapter;

  beforeAll(async () => {
    [tmoSim, crmSim] = await Promise.all([startTmoSimulator({ port: 0, credentials: DEV }), startCrmSimulator({ port: 0, credentials: DEV })]);
    tmo = await createTmoAdapter(tmoOptions(tmoSim.url, { tracer, timeoutMs: 200 }));
    crm = await createCrmAdapter(crmOptions(crmSim.url, { tracer }));
  });
  afterAll(async () => {
    await Promise.all([tmo.close(), crm.close()]);
    await Promise.all([tmoSim.close(), crmSim.close()]);
  });
  beforeEach(() => {
    exporter.reset();
    tmoSim.faults.reset();
  });

  const spans = () => exporter.getFinishedSpans().map((s) => ({ name: s.name, kind: s.kind, status: s.status.code, attributes: s.attributes }));

  it('when TMO answers, then one CLIENT span carries system, operation and success', async () => {
    await expect(tmo.getTerminal('ZZZZZZZZ', ctx)).rejects.toMatchObject({ code: 'terminal.not_found' });
    const mid = tmoSim.state.seedMerchant({
      VAT_NO: '12345678901', MERCH_NAME: 'X', MCC: '5812', ADDR_LINE: 'A', CITY: 'B', ZIP: '20100', PROV: 'MI', COUNTRY: 'IT', CRM_REF: 'C000012345',
    });
    await tmo.getMerchant(mid, ctx);
    expect(spans()).toEqual([
      {
        name: 'TMO GetTerminal',
        kind: SpanKind.CLIENT,
        status: SpanStatusCode.ERROR,
        attributes: { 'legacy.system': 'tmo', 'legacy.operation': 'GetTerminal', 'legacy.outcome': 'fault', 'legacy.error_code': 'terminal.not_found', 'error.type': 'terminal.not_found' },
      },
      {
        name: 'TMO GetMerchant',
        kind: SpanKind.CLIENT,
        status: SpanStatusCode.UNSET,
        attributes: { 'legacy.system': 'tmo', 'legacy.operation': 'GetMerchant', 'legacy.outcome': 'success' },
      },
    ]);
  });

  it('when TMO is slow, then the outcome is timeout; when it is down, unavailable, then breaker_open once the circuit opens', async () => {
    tmoSim.faults.set({ latencyMs: 500 });
    await expect(tmo.getTerminal('ZZZZZZZZ', ctx)).rejects.toMatchObject({ kind: 'timeout' });
    tmoSim.faults.reset();
    tmoSim.faults.outageFor(60_000);
    for (let i = 0; i < 6; i += 1) await tmo.getTerminal('ZZZZZZZZ', ctx).catch(() => undefined);
    const outcomes = spans().map((s) => s.attributes['legacy.outcome']);
    expect(outcomes[0]).toBe('timeout');
    expect(outcomes).toContain('unavailable');
    expect(outcomes.at(-1)).toBe('breaker_open');
  });

  it('when CRM is called, then its spans are named CRM and carry no credential or request value', async () => {
    await expect(crm.getCustomer('C999999999', ctx)).rejects.toMatchObject({ kind: 'not_found' });
    const [span] = spans();
    expect(span).toMatchObject({ name: 'CRM GetCustomer', attributes: { 'legacy.system': 'crm', 'legacy.operation': 'GetCustomer', 'legacy.outcome': 'fault' } });
    expect(JSON.stringify(exporter.getFinishedSpans().map((s) => s.attributes))).not.toMatch(new RegExp(`${DEV.password}|C999999999|req-span-1`));
  });
});
