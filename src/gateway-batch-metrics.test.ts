import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createLocalFolderFiles } from './adapters/files/local-folder.ts';
import { watchBatch } from './gateway.ts';
import { createMetrics } from './infra/metrics.ts';
import { createTermstatImporter, type TermstatImporter } from './jobs/batch/termstat-import.ts';
import { batchHarness, type BatchHarness } from './jobs/batch/test-support/harness.ts';
import { termstatFile } from './jobs/batch/test-support/termstat-file.ts';
import { termstatFormat } from './translators/batch/termstat.ts';

const redisUrl = inject('redisUrl');

let h: BatchHarness | undefined;
let importer: TermstatImporter | undefined;
let redis: Redis | undefined;
afterEach(async () => {
  await importer?.close();
  await redis?.quit();
  await h?.close();
  h = undefined;
  importer = undefined;
  redis = undefined;
});

/** The value of an unlabelled series in the exposition text, or null when it is not there. */
function valueOf(text: string, name: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? null : Number(line.slice(name.length + 1));
}

describe('batch gauges the alert rules read (deploy/prometheus/alerts.yaml)', () => {
  it('when a sent settings file passes BATCH_ANSWER_OVERDUE_MS without an answer, then lgw_batch_answer_overdue_files counts it until TMO answers', async () => {
    h = await batchHarness(redisUrl, { config: { answerOverdueMs: 300 } });
    const metrics = createMetrics({ defaultMetrics: false });
    watchBatch(metrics, { batch: h.batch, termstatImporter: null });
    expect(valueOf(await metrics.render(), 'lgw_batch_answer_overdue_files')).toBe(0);

    for (const tid of h.seedTerminals(3)) await h.put(tid);
    expect(await h.batch.exchange.exportNow()).toMatchObject({ outcome: 'sent' });
    expect(valueOf(await metrics.render(), 'lgw_batch_answer_overdue_files')).toBe(0); // sent, not yet overdue
    await new Promise((res) => setTimeout(res, 400));
    expect(valueOf(await metrics.render(), 'lgw_batch_answer_overdue_files')).toBe(1);

    await h.tmoBatch.processInbox();
    await h.batch.exchange.processAnswers();
    expect(valueOf(await metrics.render(), 'lgw_batch_answer_overdue_files')).toBe(0);
  });

  it('when a TERMSTAT snapshot is imported, then lgw_batch_snapshot_last_imported_timestamp_seconds is the time of that import (0 before any)', async () => {
    h = await batchHarness(redisUrl);
    redis = new Redis(redisUrl);
    importer = createTermstatImporter({
      redis,
      prefix: h.prefix,
      files: createLocalFolderFiles(h.root),
      format: termstatFormat({ timeZone: 'Europe/Rome' }),
      eventsStream: `{${h.prefix}}:events:terminals`,
      eventsMaxLen: 1_000,
      settleMs: 0,
      logger: pino({ level: 'silent' }),
    });
    const metrics = createMetrics({ defaultMetrics: false });
    watchBatch(metrics, { batch: h.batch, termstatImporter: importer });
    expect(valueOf(await metrics.render(), 'lgw_batch_snapshot_last_imported_timestamp_seconds')).toBe(0);

    writeFileSync(
      join(h.root, 'outbox', 'TERMSTAT_20261127.DAT'),
      termstatFile('20261127', [{ tid: 'T0000001', mid: '000000000012345', status: 'AC', lastSeen: '20261127101530', transactions: 3, amount: 1_250 }]),
    );
    writeFileSync(join(h.root, 'outbox', 'TERMSTAT_20261127.OK'), '');
    const before = Date.now();
    const { runs } = await importer.poll();
    const after = Date.now();
    expect(runs.map((r) => r.state)).toEqual(['imported']);

    const value = valueOf(await metrics.render(), 'lgw_batch_snapshot_last_imported_timestamp_seconds');
    expect(value).toBe(Date.parse(runs[0]?.finishedAt ?? '') / 1000);
    expect(value).toBeGreaterThanOrEqual(Math.floor(before / 1000));
    expect(value).toBeLessThanOrEqual(after / 1000);
  });
});
