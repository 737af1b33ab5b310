import { describe, expect, it } from 'vitest';
import type { TerminalActivityPort, TerminalSnapshotView } from '../../domain/terminal-snapshot.ts';
import { createHarness } from '../test-support/harness.ts';

const view = (lastSeenAt: string | null): TerminalSnapshotView => ({
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
