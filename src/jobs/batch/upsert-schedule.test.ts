import { describe, expect, it } from 'vitest';
import { upsertSchedule } from './scheduler.ts';

const COLLISION = 'Cannot create job scheduler iteration - job ID already exists. addJobScheduler';

/** A queue whose upsert fails with `failures` in turn, then succeeds; records each call. */
function fakeQueue(failures: Error[]) {
  const calls: Array<{ id: string; name: string | undefined }> = [];
  return {
    calls,
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
});
