import { describe, expect, it } from 'vitest';
import type { MerchantTerminal } from '../domain/services/types.ts';
import type { TerminalSnapshotView } from '../domain/terminal-snapshot.ts';
import { toTerminalDto } from './mappers.ts';

const terminal: MerchantTerminal = {
  id: 'WAS98KWZ',
  merchantId: 'C000000001',
  tmoMerchantId: '000000000000001',
  model: 'A920',
  serialNumber: null,
  status: 'active',
  contactless: true,
  currency: 'EUR',
  lastSeenAt: '2024-03-05T12:04:05.000Z',
};
const snapshot = (lastSeenAt: string | null): TerminalSnapshotView => ({
  status: 'suspended',
  takenAfter: '2024-03-05T23:00:00.000Z',
  lastSeenAt,
  activity: { date: '2024-03-05', transactionCount: 3, amount: { amount: 1250, currency: 'EUR' } },
});

describe('toTerminalDto', () => {
  // the JSON the mapper answered before it built each shape in one literal (issue 8)
  const before = (
    t: MerchantTerminal,
    view: TerminalSnapshotView | null | undefined,
  ): string => {
    const base = {
      id: t.id, merchantId: t.merchantId, tmoMerchantId: t.tmoMerchantId, model: t.model, serialNumber: t.serialNumber,
      status: t.status, contactless: t.contactless, currency: t.currency, lastSeenAt: t.lastSeenAt,
    };
    if (view === undefined) return JSON.stringify(base);
    if (view === null) return JSON.stringify({ ...base, activity: null });
    const later = t.lastSeenAt === null ? view.lastSeenAt : view.lastSeenAt === null ? t.lastSeenAt : Date.parse(view.lastSeenAt) > Date.parse(t.lastSeenAt) ? view.lastSeenAt : t.lastSeenAt;
    return JSON.stringify({ ...base, lastSeenAt: later, activity: { ...view.activity, amount: { ...view.activity.amount } } });
  };

  it.each([
    ['no snapshot asked', terminal, undefined],
    ['no snapshot found', terminal, null],
    ['a snapshot seen earlier', terminal, snapshot('2024-03-01T10:00:00.000Z')],
    ['a snapshot seen later', terminal, snapshot('2024-03-06T10:00:00.000Z')],
    ['a snapshot never seen', terminal, snapshot(null)],
    ['a terminal never seen', { ...terminal, lastSeenAt: null }, snapshot('2024-03-06T10:00:00.000Z')],
  ])('when the terminal is mapped with %s, then the JSON is byte for byte what it was', (_label, t, view) => {
    expect(JSON.stringify(toTerminalDto(t, view))).toBe(before(t, view));
  });

  it('when the snapshot has the terminal, then activity and the later lastSeenAt are answered, and nothing else of the snapshot', () => {
    const dto = toTerminalDto(terminal, snapshot('2024-03-06T10:00:00.000Z'));
    expect(dto).toEqual({
      ...terminal,
      lastSeenAt: '2024-03-06T10:00:00.000Z',
      activity: { date: '2024-03-05', transactionCount: 3, amount: { amount: 1250, currency: 'EUR' } },
    });
  });
});
