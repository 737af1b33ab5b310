import { describe, expect, it } from 'vitest';
import type { MerchantTerminal } from './services/types.ts';
import { reconcileWithSnapshot, type TerminalSnapshotView } from './terminal-snapshot.ts';
import { SAMPLE_MERCHANT_TERMINAL } from './services/test-support/sample-terminal.ts';

const terminal = SAMPLE_MERCHANT_TERMINAL;
const TAKEN_AFTER = '2026-11-27T23:00:00.000Z';
const view = (status: TerminalSnapshotView['status'], takenAfter = TAKEN_AFTER): TerminalSnapshotView => ({
  status,
  takenAfter,
  lastSeenAt: null,
  activity: { date: '2026-11-27', transactionCount: 0, amount: { amount: 0, currency: 'EUR' } },
});
const at = (iso: string) => Date.parse(iso);

describe('reconcileWithSnapshot (a stale terminal and the latest snapshot)', () => {
  it.each<[string, number, TerminalSnapshotView | null, MerchantTerminal['status']]>([
    ['no snapshot has the terminal', at('2026-11-27T10:00:00Z'), null, 'active'],
    ['the snapshot was taken after the copy was confirmed', at('2026-11-27T10:00:00Z'), view('suspended'), 'suspended'],
    ['the copy was confirmed after the snapshot was taken', at('2026-11-28T01:00:00Z'), view('suspended'), 'active'],
    ['both at the same instant (no later word)', at(TAKEN_AFTER), view('suspended'), 'active'],
    ['the snapshot time is unreadable', at('2026-11-27T10:00:00Z'), view('suspended', 'not a date'), 'active'],
  ])('when %s, then the status is %s', (_case, confirmedAt, snapshot, status) => {
    const result = reconcileWithSnapshot({ value: terminal, confirmedAt }, snapshot);
    expect(result).toEqual({ ...terminal, status });
  });
});
