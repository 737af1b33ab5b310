import { describe, expect, it } from 'vitest';
import type { ExportResult } from './exchange.ts';
import { exportWhenFree } from './scheduler.ts';

/** An exchange answering `results` in turn, on a fake clock that `sleep` moves on. */
function fakeExchange(results: ExportResult[]) {
  let t = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    exchange: { exportNow: () => Promise.resolve(results.shift() ?? { outcome: 'busy' as const }) },
    now: () => t,
    sleep: (ms: number) => {
      sleeps.push(ms);
      t += ms;
      return Promise.resolve();
    },
  };
}

describe('exportWhenFree', () => {
  it('when the exchange is free, then it exports at once', async () => {
    const f = fakeExchange([{ outcome: 'sent', file: 'TPU_20261128_001.DAT', records: 3 }]);
    await expect(exportWhenFree(f.exchange, { waitMs: 1_000, retryMs: 100, now: f.now, sleep: f.sleep })).resolves.toEqual({
      result: { outcome: 'sent', file: 'TPU_20261128_001.DAT', records: 3 },
      waitedMs: 0,
    });
    expect(f.sleeps).toEqual([]);
  });

  it('when another run holds the exchange at the tick (an answers poll), then it waits its turn and exports instead of skipping the night', async () => {
    const f = fakeExchange([{ outcome: 'busy' }, { outcome: 'busy' }, { outcome: 'sent', file: 'TPU_20261128_001.DAT', records: 3 }]);
    const r = await exportWhenFree(f.exchange, { waitMs: 1_000, retryMs: 100, now: f.now, sleep: f.sleep });
    expect(r).toEqual({ result: { outcome: 'sent', file: 'TPU_20261128_001.DAT', records: 3 }, waitedMs: 200 });
    expect(f.sleeps).toEqual([100, 100]);
  });

  it('when the exchange stays busy past the wait, then it fails (batch.export_busy) rather than reporting a run', async () => {
    const f = fakeExchange([]);
    await expect(exportWhenFree(f.exchange, { waitMs: 1_000, retryMs: 100, now: f.now, sleep: f.sleep })).rejects.toMatchObject({ code: 'batch.export_busy' });
    expect(f.sleeps).toHaveLength(10);
  });

  it('when the process shuts down while the export waits, then the wait ends at once with a failure (the worker is not held for minutes)', async () => {
    const stopping = new AbortController();
    const exchange = { exportNow: () => Promise.resolve({ outcome: 'busy' as const }) };
    const started = Date.now();
    const run = exportWhenFree(exchange, { waitMs: 60_000, retryMs: 10_000, signal: stopping.signal });
    setTimeout(() => stopping.abort(), 50);
    await expect(run).rejects.toMatchObject({ code: 'batch.export_busy', message: expect.stringContaining('shut down') });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
