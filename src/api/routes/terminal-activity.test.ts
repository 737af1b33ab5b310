import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../../domain/errors/index.ts';
import type { LastKnown, LastKnownPort } from '../../domain/read-model.port.ts';
import type { MerchantTerminal } from '../../domain/services/types.ts';
import type { TerminalActivityPort, TerminalSnapshotView } from '../../domain/terminal-snapshot.ts';
import { CACHE_STATUS_STALE } from '../stale-if-error.ts';
import { createHarness } from '../test-support/harness.ts';

const view = (lastSeenAt: string | null, status: TerminalSnapshotView['status'] = 'pending'): TerminalSnapshotView => ({
  status,
  takenAfter: '2026-11-27T23:00:00.000Z',
  lastSeenAt,
  activity: { date: '2026-11-27', transactionCount: 42, amount: { amount: 123_450, currency: 'EUR' } },
});

function withSnapshot(port: TerminalActivityPort) {
  const h = createHarness({ terminalActivity: port });
  const m = h.fake.seedMerchant();
  h.fake.seedTerminal(m, { id: 'T0000001', lastSeenAt: '2026-11-27T08:00:00.000Z' });
  return h;
}

async function read(h: ReturnType<typeof createHarness>, path = '/v1/terminals/T0000001') {
  const res = await h.app.request(path, { headers: await h.auth(['terminals:read']) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('GET /v1/terminals/{id} with the daily snapshot', () => {
  it('when the latest snapshot has the terminal, then activity comes from it and lastSeenAt is the later of the two', async () => {
    const h = withSnapshot({ getTerminalActivity: async (tid) => (tid === 'T0000001' ? view('2026-11-27T09:15:30.000Z') : null) });
    const { status, body } = await read(h);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      lastSeenAt: '2026-11-27T09:15:30.000Z',
      activity: { date: '2026-11-27', transactionCount: 42, amount: { amount: 123_450, currency: 'EUR' } },
    });
  });

  it('when TMO saw the terminal after the snapshot, then lastSeenAt is TMO\'s', async () => {
    const h = withSnapshot({ getTerminalActivity: async () => view('2026-11-26T23:00:00.000Z') });
    expect((await read(h)).body.lastSeenAt).toBe('2026-11-27T08:00:00.000Z');
  });

  it('when no snapshot has the terminal, then activity is null', async () => {
    const h = withSnapshot({ getTerminalActivity: async () => null });
    expect((await read(h)).body).toMatchObject({ activity: null, lastSeenAt: '2026-11-27T08:00:00.000Z' });
  });

  it('when the snapshot store fails, then the terminal is still answered, with activity null and a warning logged', async () => {
    const h = withSnapshot({ getTerminalActivity: async () => Promise.reject(new Error('redis down')) });
    const { status, body } = await read(h);
    expect(status).toBe(200);
    expect(body.activity).toBeNull();
    expect(h.logs.join('')).toMatch(/terminal snapshot read failed/);
  });

  it('when terminals are listed, then no activity field is added to the items', async () => {
    const h = withSnapshot({ getTerminalActivity: async () => view(null) });
    const m = h.fake.seedMerchant({ id: 'C000000009' });
    h.fake.seedTerminal(m);
    const { body } = await read(h, '/v1/merchants/C000000009/terminals');
    expect((body.items as Record<string, unknown>[])[0]).not.toHaveProperty('activity');
  });
});

describe('GET /v1/terminals/{id} from the last-known copy, with the daily snapshot', () => {
  const SNAPSHOT_TAKEN_AFTER = Date.parse('2026-11-27T23:00:00.000Z');

  /** TMO down; the copy (active) confirmed at `confirmedAt`; the latest snapshot says suspended. */
  async function staleRead(confirmedAt: number, opts: { down?: boolean } = {}) {
    let stored: LastKnown<MerchantTerminal> | null = null;
    // recall is generic over the kind; this store only ever holds the one terminal
    const lastKnown: LastKnownPort = { remember: () => undefined, forget: () => undefined, recall: async () => stored as never };
    const h = createHarness({ lastKnown, terminalActivity: { getTerminalActivity: async () => view('2026-11-27T09:15:30.000Z', 'suspended') } });
    const m = h.fake.seedMerchant();
    const terminal = h.fake.seedTerminal(m, { id: 'T0000001', status: 'active' });
    stored = { value: { ...terminal }, confirmedAt };
    if (opts.down ?? true) h.fake.failNext('terminals.get', new UnavailableError('upstream.unavailable', 'TMO is down'));
    const res = await h.app.request('/v1/terminals/T0000001', { headers: await h.auth(['terminals:read']) });
    return { status: res.status, age: res.headers.get('age'), cacheStatus: res.headers.get('cache-status'), body: (await res.json()) as Record<string, unknown> };
  }

  it('when the snapshot was taken after the copy was confirmed, then the status is the snapshot\'s and Age still counts from the copy', async () => {
    const confirmedAt = SNAPSHOT_TAKEN_AFTER - 3_600_000;
    const r = await staleRead(confirmedAt);
    expect(r.status).toBe(200);
    expect(r.cacheStatus).toBe(CACHE_STATUS_STALE);
    expect(r.body).toMatchObject({ id: 'T0000001', status: 'suspended', lastSeenAt: '2026-11-27T09:15:30.000Z', activity: { date: '2026-11-27' } });
    // never understated: the model, serial number and merchant are as old as the copy
    expect(Number(r.age)).toBeGreaterThanOrEqual(Math.floor((Date.now() - confirmedAt) / 1000));
  });

  it('when the copy was confirmed after the snapshot was taken (a later write or read), then the copy\'s status stands', async () => {
    const r = await staleRead(SNAPSHOT_TAKEN_AFTER + 60_000);
    expect(r.status).toBe(200);
    expect(r.cacheStatus).toBe(CACHE_STATUS_STALE);
    expect(r.body).toMatchObject({ status: 'active' });
  });

  it('when TMO answers, then its status stands whatever the snapshot says (no headers)', async () => {
    const r = await staleRead(SNAPSHOT_TAKEN_AFTER - 3_600_000, { down: false });
    expect(r.status).toBe(200);
    expect(r.cacheStatus).toBeNull();
    expect(r.body).toMatchObject({ status: 'active' });
  });
});
