/**
 * A gateway process that runs one step of the settings exchange and exits (crash tests, the
 * memory test, bench/tpu): `STEP=export` (default) or `STEP=answers`. With `CRASH_AT` set to an
 * export hook point it SIGKILLs itself there: no cleanup, no lock release, like a power cut.
 * Prints one JSON line: the step's result and this process's figures for it (wall ms, CPU ms,
 * upload ms from the `claimed` to the `uploaded` hook, peak RSS and peak heap in MiB).
 * Env: REDIS_URL, PREFIX, ROOT (TMO's SFTP root as a local folder), STEP, CRASH_AT, LOCK_TTL_MS.
 */
import { getHeapStatistics } from 'node:v8';
import { pino } from 'pino';
import { createLocalFolderFiles } from '../../../adapters/files/local-folder.ts';
import { createTpuFormat } from '../../../adapters/files/tpu-format.ts';
import type { Services } from '../../../domain/services/types.ts';
import { createOperations } from '../../operations.ts';
import { FakeCircuits, testCipher } from '../../test-support/harness.ts';
import type { ExportHookPoint } from '../exchange.ts';
import { createBatchExport } from '../index.ts';
import { CONFIG } from './harness.ts';

const env = process.env;
const crashAt = env.CRASH_AT as ExportHookPoint | undefined;
const marks: Partial<Record<ExportHookPoint, number>> = {};
let heapPeak = 0;
const heapSampler = setInterval(() => {
  heapPeak = Math.max(heapPeak, getHeapStatistics().used_heap_size);
}, 10);
const operations = createOperations({
  redisUrl: env.REDIS_URL ?? '',
  services: {} as Services,
  cipher: testCipher(),
  circuits: new FakeCircuits(),
  prefix: env.PREFIX ?? '',
});
const batch = await createBatchExport({
  operations,
  services: {} as Services,
  files: createLocalFolderFiles(env.ROOT ?? ''),
  format: createTpuFormat(),
  config: CONFIG,
  prefix: env.PREFIX ?? '',
  runWorker: false,
  logger: pino({ level: 'silent' }),
  lockTtlMs: Number(env.LOCK_TTL_MS ?? 60_000),
  hook: (point) => {
    marks[point] = performance.now();
    if (point === crashAt) process.kill(process.pid, 'SIGKILL');
  },
});
const rssBefore = process.memoryUsage().rss;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const result = env.STEP === 'answers' ? await batch.exchange.processAnswers() : await batch.exchange.exportNow();
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
heapPeak = Math.max(heapPeak, getHeapStatistics().used_heap_size);
clearInterval(heapSampler);
const figures = {
  ms: Math.round(ms),
  cpuMs: Math.round((cpu.user + cpu.system) / 1000),
  uploadMs: marks.claimed !== undefined && marks.uploaded !== undefined ? Math.round(marks.uploaded - marks.claimed) : null,
  rssBeforeMiB: Math.round(rssBefore / 2 ** 20),
  maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  heapPeakMiB: Math.round(heapPeak / 2 ** 20),
};
process.stdout.write(`${JSON.stringify({ ...(result ?? { outcome: 'busy' }), figures })}\n`);
await batch.close();
await operations.close();
