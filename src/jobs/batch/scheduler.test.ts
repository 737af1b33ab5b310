import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { watchBatch } from '../../gateway.ts';
import { createMetrics } from '../../infra/metrics.ts';
import { TmoStore } from '../../simulators/tmo/state.ts';
import { createBatchKeys } from './keys.ts';
import { batchHarness, type BatchHarness } from './test-support/harness.ts';

const redisUrl = inject('redisUrl');
const gateways: BatchHarness[] = [];
let root = '';
afterEach(async () => {
  for (const g of gateways.splice(0)) await g.close();
  await rm(root, { recursive: true, force: true });
});

describe('batch scheduler', () => {
  it('when two gateways share one Redis and the export is due every second, then each tick exports once and every change goes out once', async () => {
    root = await mkdtemp(join(tmpdir(), 'tpu-sched-'));
    const prefix = `test:${randomBytes(4).toString('hex')}`;
    const tmo = new TmoStore(Date.now, 1, { list: () => [], clear: () => undefined }, undefined);
    const config = { exportCron: '* * * * * *', answerPollMs: 600_000 };
    for (let i = 0; i < 2; i += 1) gateways.push(await batchHarness(redisUrl, { prefix, root, tmo, config, runWorker: true }));
    const [a, b] = gateways as [BatchHarness, BatchHarness];
    const tids = a.seedTerminals(20);
    for (const [i, tid] of tids.entries()) await (i % 2 === 0 ? a : b).put(tid);

    const started = Date.now();
    await new Promise((res) => setTimeout(res, 3_500));
    const elapsedTicks = Math.ceil((Date.now() - started) / 1000) + 1;
    await Promise.all(gateways.map((g) => g.batch.scheduler.worker?.close()));

    const jobs = await a.batch.scheduler.queue.getJobs(['completed', 'failed']);
    const exports = jobs.filter((j) => j.name === 'export');
    expect(exports.length).toBeGreaterThanOrEqual(2);
    expect(exports.length).toBeLessThanOrEqual(elapsedTicks); // not one per process
    const outcomes = exports.map((j) => (j.returnvalue as { outcome: string } | null)?.outcome);
    // the changes were accepted while the schedule ticked: they may span files, never twice
    expect(outcomes.filter((o) => o === 'busy')).toHaveLength(0);
    expect(exports.every((j) => j.finishedOn !== undefined && j.failedReason === undefined)).toBe(true);
    const files = (await a.batch.ledger.list(10)).files;
    expect(files.length).toBe(outcomes.filter((o) => o === 'sent').length);
    expect(files.reduce((n, f) => n + f.records, 0)).toBe(20);
    await a.tmoBatch.processInbox();
    expect(tmo.settingsApplicationCount()).toBe(20);
    for (const tid of tids) expect(tmo.settingsApplications(tid)).toHaveLength(1);
  }, 30_000);
  it('when the nightly tick comes while another run holds the exchange (an answers poll), then the export waits for it and the file still goes out that night', async () => {
    root = await mkdtemp(join(tmpdir(), 'tpu-sched-'));
    const prefix = `test:${randomBytes(4).toString('hex')}`;
    const tmo = new TmoStore(Date.now, 1, { list: () => [], clear: () => undefined }, undefined);
    // "nightly": one time of day, a few seconds from now
    const fireAt = new Date(Math.ceil((Date.now() + 3_000) / 1000) * 1000);
    const cron = `${fireAt.getUTCSeconds()} ${fireAt.getUTCMinutes()} ${fireAt.getUTCHours()} * * *`;
    const g = await batchHarness(redisUrl, { prefix, root, tmo, config: { exportCron: cron, timeZone: 'UTC', answerPollMs: 600_000 }, runWorker: true });
    gateways.push(g);
    const tids = g.seedTerminals(3);
    for (const tid of tids) await g.put(tid);
    // another process's answers run takes the exchange lock just before the tick and keeps it past it
    const queue = g.batch.scheduler.queue;
    const exportJobs = async (...states: Array<'active' | 'completed' | 'failed'>) => (await queue.getJobs(states)).filter((j) => j.name === 'export');
    const until = async <T>(probe: () => Promise<T[]>, timeoutMs: number): Promise<T[]> => {
      for (const deadline = Date.now() + timeoutMs; ; await new Promise((res) => setTimeout(res, 50))) {
        const found = await probe();
        if (found.length > 0 || Date.now() > deadline) return found;
      }
    };
    const redis = new Redis(redisUrl);
    const lock = createBatchKeys(prefix).lock;
    try {
      await new Promise((res) => setTimeout(res, Math.max(0, fireAt.getTime() - 500 - Date.now())));
      await redis.set(lock, 'another-process', 'PX', 30_000);
      // the tick comes and its job starts while the lock is held: it must not end as a skipped night
      expect(await until(() => exportJobs('active', 'completed', 'failed'), 10_000)).toHaveLength(1);
      await new Promise((res) => setTimeout(res, 500));
      expect((await exportJobs('completed', 'failed')).map((j) => j.returnvalue as unknown)).toEqual([]);
      // the other run ends and releases the lock
      expect(await redis.get(lock)).toBe('another-process');
      await redis.del(lock);
    } finally {
      redis.disconnect();
    }
    const done = await until(() => exportJobs('completed'), 5_000);
    expect(done).toHaveLength(1);
    expect(done[0]?.returnvalue).toMatchObject({ outcome: 'sent', records: 3 });
    expect(await exportJobs('failed')).toEqual([]);
    expect((await g.tmoBatch.processInbox()).map((p) => p.answer)).toEqual(['ACK']);
    for (const tid of tids) expect(tmo.settingsApplications(tid)).toHaveLength(1);
  }, 20_000);
  it('when every gateway was down at the nightly time and one starts later, then the missed export runs at its start', async () => {
    root = await mkdtemp(join(tmpdir(), 'tpu-sched-'));
    const prefix = `test:${randomBytes(4).toString('hex')}`;
    const tmo = new TmoStore(Date.now, 1, { list: () => [], clear: () => undefined }, undefined);
    const fireAt = new Date(Math.ceil((Date.now() + 2_000) / 1000) * 1000);
    const config = { exportCron: `${fireAt.getUTCSeconds()} ${fireAt.getUTCMinutes()} ${fireAt.getUTCHours()} * * *`, timeZone: 'UTC', answerPollMs: 600_000 };
    // a gateway registered the schedule and took changes, then every process went down before the time
    const before = await batchHarness(redisUrl, { prefix, root, tmo, config, runWorker: false });
    const tids = before.seedTerminals(3);
    try {
      for (const tid of tids) await before.put(tid);
    } finally {
      await before.close();
    }
    await new Promise((res) => setTimeout(res, Math.max(0, fireAt.getTime() + 1_500 - Date.now())));

    const g = await batchHarness(redisUrl, { prefix, root, tmo, config, runWorker: true });
    gateways.push(g);
    const queue = g.batch.scheduler.queue;
    let done = (await queue.getJobs(['completed', 'failed'])).filter((j) => j.name === 'export');
    for (const deadline = Date.now() + 8_000; done.length === 0 && Date.now() < deadline; ) {
      await new Promise((res) => setTimeout(res, 100));
      done = (await queue.getJobs(['completed', 'failed'])).filter((j) => j.name === 'export');
    }
    expect(done.map((j) => j.returnvalue as unknown)).toEqual([{ outcome: 'sent', file: expect.any(String), records: 3 }]);
    // and the schedule goes on from there: the next run is tomorrow's
    expect((await queue.getJobScheduler('tpu-export'))?.next).toBe(fireAt.getTime() + 86_400_000);
    expect((await g.tmoBatch.processInbox()).map((p) => p.answer)).toEqual(['ACK']);
  }, 20_000);
  it('when a scheduled export finds the exchange busy past its wait, then its job fails and is counted failed with no success recorded; the next one is counted sent and moves the last-success gauge', async () => {
    root = await mkdtemp(join(tmpdir(), 'tpu-sched-'));
    const prefix = `test:${randomBytes(4).toString('hex')}`;
    const tmo = new TmoStore(Date.now, 1, { list: () => [], clear: () => undefined }, undefined);
    const metrics = createMetrics({ defaultMetrics: false });
    const registeredAfter = Date.now();
    // no tick during the test: each export is a job added here, as a tick's would be
    const config = { exportCron: '0 0 1 1 *', answerPollMs: 600_000 };
    const g = await batchHarness(redisUrl, { prefix, root, tmo, config, runWorker: true, metrics: metrics.batch, exportBusyWaitMs: 300 });
    gateways.push(g);
    watchBatch(metrics, { batch: g.batch, termstatImporter: null });
    const scrape = async () => {
      const text = await metrics.render();
      const line = (series: string) => text.split('\n').find((l) => l.startsWith(`${series} `))?.slice(series.length + 1);
      const count = (outcome: string) => Number(line(`lgw_batch_scheduled_exports_total{outcome="${outcome}"}`));
      return {
        sent: count('sent'),
        nothing_pending: count('nothing_pending'),
        failed: count('failed'),
        lastSuccess: Number(line('lgw_batch_scheduled_export_last_success_timestamp_seconds')),
      };
    };
    const queue = g.batch.scheduler.queue;
    const finish = async (job: Job): Promise<Job | undefined> => {
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((res) => setTimeout(res, 50))) {
        const state = await job.getState();
        if (state === 'completed' || state === 'failed') return queue.getJob(job.id ?? '');
      }
      return undefined;
    };

    // before any export: every outcome at 0, the gauge at the schedule's registration
    const start = await scrape();
    expect(start).toMatchObject({ sent: 0, nothing_pending: 0, failed: 0 });
    expect(start.lastSuccess).toBeGreaterThanOrEqual(registeredAfter / 1000);
    expect(start.lastSuccess).toBeLessThanOrEqual(Date.now() / 1000);

    for (const tid of g.seedTerminals(3)) await g.put(tid);
    const redis = new Redis(redisUrl);
    const lock = createBatchKeys(prefix).lock;
    try {
      // another run holds the exchange past the export's wait
      await redis.set(lock, 'another-process', 'PX', 30_000);
      const busy = await finish(await queue.add('export', {}));
      expect(busy?.failedReason).toMatch(/found the exchange busy/);
      expect(await scrape()).toEqual({ sent: 0, nothing_pending: 0, failed: 1, lastSuccess: start.lastSuccess });
      await redis.del(lock);
    } finally {
      redis.disconnect();
    }

    const before = Date.now();
    const sent = await finish(await queue.add('export', {}));
    expect(sent?.returnvalue).toMatchObject({ outcome: 'sent', records: 3 });
    const after = await scrape();
    expect(after).toMatchObject({ sent: 1, nothing_pending: 0, failed: 1 });
    expect(after.lastSuccess).toBeGreaterThanOrEqual(before / 1000);

    const nothing = await finish(await queue.add('export', {}));
    expect(nothing?.returnvalue).toEqual({ outcome: 'nothing_pending' });
    expect(await scrape()).toMatchObject({ sent: 1, nothing_pending: 1, failed: 1 });
  }, 20_000);
  it('when the worker waits for a job longer than the command timeout of the client it was made from, then it raises no Redis error', async () => {
    root = await mkdtemp(join(tmpdir(), 'tpu-sched-'));
    const prefix = `test:${randomBytes(4).toString('hex')}`;
    const tmo = new TmoStore(Date.now, 1, { list: () => [], clear: () => undefined }, undefined);
    // nothing due: the worker sits in BullMQ's blocking wait (up to 5 s) the whole time
    const g = await batchHarness(redisUrl, { prefix, root, tmo, config: { exportCron: '0 0 1 1 *', answerPollMs: 600_000 }, runWorker: true });
    gateways.push(g);
    const errors: Error[] = [];
    g.batch.scheduler.worker?.on('error', (err) => errors.push(err));
    expect(g.batch.scheduler.worker).toBeDefined();
    // the harness's commands client times out after 3 s; a duplicate inheriting it failed here
    await new Promise((res) => setTimeout(res, 4_500));
    expect(errors.map((e) => e.message)).toEqual([]);
  }, 15_000);
});
