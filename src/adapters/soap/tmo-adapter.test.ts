// The TMO adapter against the in-process TMO simulator: every operation, every RETURN_CODE
// and fault of CONTRACT.md, timeouts, outages and the circuit breaker.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MerchantRegistration, TerminalOrder } from '../../domain/model.ts';
import { startTmoSimulator, type TmoSimulator } from '../../simulators/index.ts';
import { createTmoAdapter, type TmoAdapter } from './tmo-adapter.ts';
import { DEV, recordingLogger, tmoOptions } from './testing/options.ts';

const ctx = { requestId: 'req-tmo-1' };

const REG: MerchantRegistration = {
  vatNumber: '12345678901',
  name: 'Caffè Società Srl',
  mcc: '5812',
  address: { line1: 'Via Roma 1', city: 'Forlì', postalCode: '47121', province: 'fc', country: 'it' },
  customerId: 'C000012345',
};

const ORDER: TerminalOrder = {
  model: 'A920',
  contactless: true,
  currency: 'EUR',
  shippingAddress: { line1: 'Piazza Duomo 1', city: 'Milano', postalCode: '20121', province: 'MI' },
};

let sim: TmoSimulator;
let tmo: TmoAdapter;
const logger = recordingLogger();

beforeAll(async () => {
  sim = await startTmoSimulator({ port: 0, credentials: DEV });
  tmo = await createTmoAdapter(tmoOptions(sim.url, { logger }));
});
afterAll(async () => {
  await tmo.close();
  await sim.close();
});
beforeEach(() => {
  sim.faults.reset();
  sim.state.reset();
});

async function registered(): Promise<string> {
  return (await tmo.registerMerchant(REG, ctx)).tmoMerchantId;
}

describe('TMO adapter, happy paths', () => {
  it('when a merchant is registered, then TMO stores it in ASCII upper case and the MID comes back', async () => {
    const res = await tmo.registerMerchant(REG, ctx);
    expect(res).toEqual({ tmoMerchantId: expect.stringMatching(/^\d{15}$/), created: true });
    expect(sim.state.merchant(res.tmoMerchantId)).toMatchObject({ MERCH_NAME: 'CAFFE SOCIETA SRL', CITY: 'FORLI', PROV: 'FC' });
  });

  it('when the same VAT number is registered again (E301), then the existing MID comes back with created false', async () => {
    const first = await registered();
    await expect(tmo.registerMerchant(REG, ctx)).resolves.toEqual({ tmoMerchantId: first, created: false });
  });

  it('when a merchant is read, then it comes back in clean terms', async () => {
    const mid = await registered();
    await expect(tmo.getMerchant(mid, ctx)).resolves.toEqual({
      tmoMerchantId: mid,
      vatNumber: '12345678901',
      name: 'CAFFE SOCIETA SRL',
      mcc: '5812',
      address: { line1: 'VIA ROMA 1', city: 'FORLI', postalCode: '47121', province: 'FC', country: 'IT' },
      customerId: 'C000012345',
      status: 'active',
      registeredAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
    });
  });

  it('when a terminal is ordered and read, then it is pending and never seen', async () => {
    const mid = await registered();
    const { terminalId } = await tmo.orderTerminal(mid, ORDER, ctx);
    expect(terminalId).toMatch(/^[A-Z0-9]{8}$/);
    await expect(tmo.getTerminal(terminalId, ctx)).resolves.toEqual({
      id: terminalId,
      tmoMerchantId: mid,
      model: 'A920',
      serialNumber: expect.any(String),
      status: 'pending',
      contactless: true,
      currency: 'EUR',
      lastSeenAt: null,
    });
  });

  it('when a shipped terminal is read, then LAST_SEEN becomes an ISO instant in the configured zone', async () => {
    const mid = await registered();
    const { terminalId } = await tmo.orderTerminal(mid, ORDER, ctx);
    sim.state.activate(terminalId);
    const raw = sim.state.terminal(terminalId);
    const t = await tmo.getTerminal(terminalId, ctx);
    expect(t.status).toBe('active');
    const d = raw?.LAST_SEEN_DATE ?? '';
    const h = raw?.LAST_SEEN_TIME ?? '';
    // The adapter under test reads TMO wall clock as UTC (the simulator's zone).
    expect(t.lastSeenAt).toBe(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}.000Z`);
  });

  it.each([
    [0, 1, 10, 0],
    [1, 1, 10, 1],
    [3, 1, 2, 2],
    [3, 2, 2, 1],
    [3, 3, 2, 0],
  ])('when a merchant has %i terminals and page %i of size %i is listed, then %i come back as an array', async (n, page, size, expected) => {
    const mid = await registered();
    for (let i = 0; i < n; i += 1) await tmo.orderTerminal(mid, ORDER, ctx);
    const res = await tmo.listTerminals(mid, page, size, ctx);
    expect(Array.isArray(res.items)).toBe(true);
    expect(res).toMatchObject({ total: n, page, pageSize: size });
    expect(res.items).toHaveLength(expected);
  });

  it('when a shipped terminal is suspended, then the new status comes back changed', async () => {
    const mid = await registered();
    const { terminalId } = await tmo.orderTerminal(mid, ORDER, ctx);
    sim.state.activate(terminalId);
    await expect(tmo.changeTerminalStatus(terminalId, 'suspended', 'suspected_fraud', ctx)).resolves.toEqual({ status: 'suspended', changed: true });
  });

  it('when a terminal is already in the requested status (E302), then it is an idempotent success with changed false', async () => {
    const mid = await registered();
    const { terminalId } = await tmo.orderTerminal(mid, ORDER, ctx);
    sim.state.activate(terminalId);
    await expect(tmo.changeTerminalStatus(terminalId, 'active', 'merchant_request', ctx)).resolves.toEqual({ status: 'active', changed: false });
  });

  it('when a call is made, then TMO receives the request id', async () => {
    await tmo.getTerminal('ZZZZZZZZ', { requestId: 'trace-me-42' }).catch(() => undefined);
    expect(sim.state.recentCalls().at(-1)).toMatchObject({ operation: 'GetTerminal', requestId: 'trace-me-42' });
  });
});

describe('TMO adapter, business outcomes', () => {
  it('when a field is invalid (E101), then it is a validation error on the clean field', async () => {
    await expect(tmo.registerMerchant({ ...REG, address: { ...REG.address, postalCode: '123' } }, ctx)).rejects.toMatchObject({
      kind: 'validation',
      code: 'tmo.invalid_field',
      fields: [{ field: 'address.postalCode', reason: expect.any(String) }],
    });
  });

  it('when the MCC is not allowed (E102), then it is a business error', async () => {
    await expect(tmo.registerMerchant({ ...REG, mcc: '7995' }, ctx)).rejects.toMatchObject({ kind: 'business', code: 'merchant.mcc_not_allowed' });
  });

  it.each([
    ['getMerchant', () => tmo.getMerchant('000000000099999', ctx)],
    ['orderTerminal', () => tmo.orderTerminal('000000000099999', ORDER, ctx)],
    ['listTerminals', () => tmo.listTerminals('000000000099999', 1, 10, ctx)],
  ])('when %s names an unknown MID (E201), then it is merchant.not_found', async (_op, call) => {
    await expect(call()).rejects.toMatchObject({ kind: 'not_found', code: 'merchant.not_found', retryable: false });
  });

  it.each([
    ['getTerminal', () => tmo.getTerminal('ZZZZZZZZ', ctx)],
    ['changeTerminalStatus', () => tmo.changeTerminalStatus('ZZZZZZZZ', 'suspended', 'other', ctx)],
  ])('when %s names an unknown TID (E202), then it is terminal.not_found', async (_op, call) => {
    await expect(call()).rejects.toMatchObject({ kind: 'not_found', code: 'terminal.not_found' });
  });

  it('when a decommissioned terminal is reactivated (E101), then it is a business refusal', async () => {
    const mid = await registered();
    const { terminalId } = await tmo.orderTerminal(mid, ORDER, ctx);
    await tmo.changeTerminalStatus(terminalId, 'decommissioned', 'contract_ended', ctx);
    await expect(tmo.changeTerminalStatus(terminalId, 'active', 'merchant_request', ctx)).rejects.toMatchObject({
      kind: 'business',
      code: 'terminal.status_change_not_allowed',
    });
  });

  it('when business outcomes repeat many times, then the circuit stays closed', async () => {
    for (let i = 0; i < 15; i += 1) await tmo.getTerminal('ZZZZZZZZ', ctx).catch(() => undefined);
    expect(tmo.circuit().state).toBe('closed');
  });
});

describe('TMO adapter, system failures', () => {
  it('when TMO is busy (E901) or faults with TMO-SYS, then it is a retryable unavailable error', async () => {
    sim.faults.set({ faultRate: 1 });
    const codes = new Set<string>();
    for (let i = 0; i < 6; i += 1) {
      const err = await tmo.getTerminal('ZZZZZZZZ', ctx).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'unavailable', retryable: true });
      codes.add((err as { code: string }).code);
      if (tmo.circuit().state !== 'closed') break;
    }
    expect([...codes].every((c) => ['tmo.busy', 'tmo.system_error', 'tmo.circuit_open'].includes(c))).toBe(true);
  });

  it('when the credentials are wrong (HTTP 401, empty body), then it is tmo.auth_failed, not retryable, logged as an error without secrets', async () => {
    const bad = await createTmoAdapter(tmoOptions(sim.url, { password: 'wrong-secret', logger }));
    try {
      await expect(bad.getTerminal('ZZZZZZZZ', ctx)).rejects.toMatchObject({ kind: 'unavailable', code: 'tmo.auth_failed', retryable: false });
      expect(logger.lines.some((l) => l.startsWith('error') && l.includes('tmo.auth_failed'))).toBe(true);
      expect(logger.lines.join('\n')).not.toMatch(/wrong-secret|gateway-dev-secret|Basic /);
    } finally {
      await bad.close();
    }
  });

  it('when TMO is slower than the timeout, then it is an ambiguous TimeoutError', async () => {
    const fast = await createTmoAdapter(tmoOptions(sim.url, { timeoutMs: 100 }));
    sim.faults.set({ latencyMs: 400 });
    try {
      await expect(fast.getTerminal('ZZZZZZZZ', ctx)).rejects.toMatchObject({ kind: 'timeout', code: 'tmo.timeout', retryable: true });
    } finally {
      await fast.close();
    }
  });

  it('when TMO applies a write and then hangs, then the timeout is ambiguous: the merchant exists', async () => {
    const fast = await createTmoAdapter(tmoOptions(sim.url, { timeoutMs: 150 }));
    sim.faults.set({ hangAfterApplyMs: 600 });
    try {
      await expect(fast.registerMerchant(REG, ctx)).rejects.toMatchObject({ kind: 'timeout' });
      expect(sim.state.merchantsByVat().has('12345678901')).toBe(true);
      sim.faults.reset();
      await expect(fast.registerMerchant(REG, ctx)).resolves.toMatchObject({ created: false });
    } finally {
      await fast.close();
    }
  });

  it('when the caller aborts, then the call ends at once with tmo.aborted and the breaker does not count it', async () => {
    sim.faults.set({ latencyMs: 500 });
    const failuresBefore = tmo.circuit().stats.failures;
    const ac = new AbortController();
    const started = Date.now();
    const p = tmo.getTerminal('ZZZZZZZZ', { requestId: 'abort', signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect(p).rejects.toMatchObject({ code: 'tmo.aborted', retryable: false });
    expect(Date.now() - started).toBeLessThan(300);
    expect(tmo.circuit().stats.failures).toBe(failuresBefore);
  });
});

describe('TMO adapter, circuit breaker', () => {
  let own: TmoAdapter;
  afterEach(async () => {
    await own.close();
  });

  it('when TMO is in an outage (503), then the circuit opens, fails fast, then half-opens and closes once TMO is back', async () => {
    own = await createTmoAdapter(tmoOptions(sim.url));
    // Seeded directly: the breaker's window must hold only the outage calls.
    const mid = sim.state.seedMerchant({
      VAT_NO: '12345678901', MERCH_NAME: 'X', MCC: '5812', ADDR_LINE: 'A', CITY: 'B', ZIP: '20100', PROV: 'MI', COUNTRY: 'IT', CRM_REF: 'C000012345',
    });
    const changes: string[] = [];
    own.onStateChange((c) => changes.push(c.to));
    sim.faults.outageFor(60_000);
    const codes: string[] = [];
    for (let i = 0; i < 8; i += 1) codes.push(await own.getMerchant(mid, ctx).then(() => 'ok', (e: { code: string }) => e.code));
    expect(codes.slice(0, 5)).toEqual(Array(5).fill('tmo.unavailable'));
    expect(codes.slice(5)).toEqual(Array(3).fill('tmo.circuit_open'));
    const calls = sim.state.recentCalls().length;
    await expect(own.getMerchant(mid, ctx)).rejects.toMatchObject({ code: 'tmo.circuit_open', retryAfterSeconds: expect.any(Number) });
    expect(sim.state.recentCalls().length).toBe(calls); // failed fast: TMO never saw it
    expect(own.circuit().state).toBe('open');

    sim.faults.reset();
    await new Promise((r) => setTimeout(r, 350));
    expect(own.circuit().state).toBe('half_open');
    await expect(own.getMerchant(mid, ctx)).resolves.toMatchObject({ tmoMerchantId: mid });
    expect(own.circuit().state).toBe('closed');
    expect(changes).toEqual(['open', 'half_open', 'closed']);
  });

  it('when nothing listens on the endpoint, then it is tmo.unreachable', async () => {
    own = await createTmoAdapter(tmoOptions('http://127.0.0.1:1/tmo'));
    await expect(own.getTerminal('ZZZZZZZZ', ctx)).rejects.toMatchObject({ kind: 'unavailable', code: 'tmo.unreachable', retryable: true });
  });

  it('when close is called twice, then both succeed and later calls fail with tmo.closed', async () => {
    own = await createTmoAdapter(tmoOptions(sim.url));
    await own.close();
    await own.close();
    await expect(own.getTerminal('ZZZZZZZZ', ctx)).rejects.toMatchObject({ code: 'tmo.closed' });
  });
});
