import { afterEach, describe, expect, inject, it } from 'vitest';
import { createBatchKeys } from './keys.ts';
import { createBatchStore } from './store.ts';
import { batchHarness, type BatchHarness } from './test-support/harness.ts';

const redisUrl = inject('redisUrl');

let h: BatchHarness;
afterEach(async () => {
  await h.close();
});

describe('batch store: claiming changes into a file', () => {
  it('when a newer change of a terminal is accepted while a file is being claimed and the scan returns the terminal again, then the file keeps one record for it and the newer change stays pending', async () => {
    h = await batchHarness(redisUrl);
    const keys = createBatchKeys(h.prefix);
    const store = createBatchStore(h.operations.runtime.redis, keys);
    const [tid] = h.seedTerminals(1) as [string];
    const first = await h.put(tid);
    const at = new Date().toISOString();
    await store.createFile({ name: 'TPU_20261127_001.DAT', date: '2026-11-27', seq: 1 }, at);
    expect(await store.claim('TPU_20261127_001.DAT', [first], at)).toBe(1);

    // accepted mid-claim: the first is filed, so the newer one is the terminal's pending change
    const newer = await h.put(tid, { tipping: false });
    expect(await h.operations.runtime.redis.hget(keys.pending, tid)).toBe(newer);
    // HSCAN may hand the terminal out again in the same claim
    expect(await store.claim('TPU_20261127_001.DAT', [newer], at)).toBe(0);

    expect(await store.fileRecordCount('TPU_20261127_001.DAT')).toBe(1);
    expect(await h.operations.runtime.redis.hget(keys.pending, tid)).toBe(newer);
    expect((await store.getChange(newer))?.state).toBe('accepted');
    await store.endClaim('TPU_20261127_001.DAT');
    expect(await h.operations.runtime.redis.exists(keys.fileTerminals('TPU_20261127_001.DAT'))).toBe(0);
  });
});
