/**
 * A gateway process that runs one settings export and exits (crash tests). With `CRASH_AT` set
 * to an export hook point it SIGKILLs itself there: no cleanup, no lock release, like a power cut.
 * Env: REDIS_URL, PREFIX, ROOT (TMO's SFTP root as a local folder), CRASH_AT, LOCK_TTL_MS.
 */
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
    if (point === crashAt) process.kill(process.pid, 'SIGKILL');
  },
});
const result = await batch.exchange.exportNow();
process.stdout.write(`${JSON.stringify(result)}\n`);
await batch.close();
await operations.close();
