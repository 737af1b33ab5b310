import { describe, expect, it } from 'vitest';
import { upsertSchedule } from './scheduler.ts';

const COLLISION = 'Cannot create job scheduler iteration - job ID already exists. addJobScheduler';

/** A queue whose upsert fails with `failures` in turn, then succeeds; records each call. `scheduler` is what Redis holds already. */
function fakeQueue(failures: Error[], scheduler?: { name: string; pattern?: string; tz?: string; next?: number }) {
  const calls: Array<{ id: string; name: string | undefined }> = [];
  return {
    calls,
    getJobScheduler: () => Promise.resolve(scheduler),
    upsertJobScheduler: (id: string, _repeat: unknown, template?: { name?: string }) => {
      calls.push({ id, name: template?.name });
      const err = failures.shift();
      return err ? Promise.reject(err) : Promise.resolve(undefined as never);
    },
  };
}

function warnings() {
  const lines: unknown[] = [];
  return { lines, warn: (obj: unknown) => void lines.push(obj) };
}

describe('upsertSchedule', () => {
  it('when another process holds the iteration (BullMQ job-id collision), then it tries again and succeeds without a warning', async () => {
    const queue = fakeQueue([new Error(COLLISION)]);
    const log = warnings();
    await upsertSchedule(queue as never, 'tpu-export', { pattern: '* * * * * *' }, 'export', log as never, [1, 1]);
    expect(queue.calls).toEqual([
      { id: 'tpu-export', name: 'export' },
      { id: 'tpu-export', name: 'export' },
    ]);
    expect(log.lines).toEqual([]);
  });

  it('when the collision outlasts every try, then it starts anyway with a warning instead of failing', async () => {
    const queue = fakeQueue([new Error(COLLISION), new Error(COLLISION), new Error(COLLISION)]);
    const log = warnings();
    await upsertSchedule(queue as never, 'tpu-export', { pattern: '* * * * * *' }, 'export', log as never, [1, 1]);
    expect(queue.calls).toHaveLength(3);
    expect(log.lines).toEqual([{ scheduler: 'tpu-export', attempts: 3 }]);
  });

  it('when the upsert fails for any other reason, then the error is thrown at once', async () => {
    const queue = fakeQueue([new Error('Connection is closed.')]);
    await expect(upsertSchedule(queue as never, 'tpu-export', { pattern: '* * * * * *' }, 'export', warnings() as never, [1, 1])).rejects.toThrow('Connection is closed.');
    expect(queue.calls).toHaveLength(1);
  });

  const NOW = Date.parse('2026-11-28T01:30:00Z');
  const DUE = Date.parse('2026-11-28T01:00:00Z');

  it('when the schedule in Redis has a run overdue (every process was down at its time), then it is kept, to run now, with a warning', async () => {
    const queue = fakeQueue([], { name: 'export', pattern: '0 1 * * *', tz: 'UTC', next: DUE });
    const log = warnings();
    await upsertSchedule(queue as never, 'tpu-export', { pattern: '0 1 * * *', tz: 'UTC' }, 'export', log as never, [1, 1], () => NOW);
    expect(queue.calls).toEqual([]);
    expect(log.lines).toEqual([{ scheduler: 'tpu-export', dueAt: '2026-11-28T01:00:00.000Z', lateMs: 30 * 60_000 }]);
  });

  it('when a run is overdue but the schedule has changed, then the new one replaces it and a warning says the run is dropped', async () => {
    const queue = fakeQueue([], { name: 'export', pattern: '0 1 * * *', tz: 'UTC', next: DUE });
    const log = warnings();
    await upsertSchedule(queue as never, 'tpu-export', { pattern: '0 2 * * *', tz: 'UTC' }, 'export', log as never, [1, 1], () => NOW);
    expect(queue.calls).toEqual([{ id: 'tpu-export', name: 'export' }]);
    expect(log.lines).toHaveLength(1);
  });

  it('when the schedule in Redis is not due yet, then it is upserted as usual', async () => {
    const queue = fakeQueue([], { name: 'export', pattern: '0 1 * * *', tz: 'UTC', next: DUE + 86_400_000 });
    const log = warnings();
    await upsertSchedule(queue as never, 'tpu-export', { pattern: '0 1 * * *', tz: 'UTC' }, 'export', log as never, [1, 1], () => NOW);
    expect(queue.calls).toEqual([{ id: 'tpu-export', name: 'export' }]);
    expect(log.lines).toEqual([]);
  });
});
