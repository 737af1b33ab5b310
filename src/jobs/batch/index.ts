import type { Logger } from 'pino';
import type { Services } from '../../domain/services/types.ts';
import type { FileTransferPort } from '../../domain/file-transfer.port.ts';
import type { SettingsFileFormat } from '../../domain/terminal-settings.ts';
import type { Operations } from '../operations.ts';
import { createSettingsExchange, visibleFileState, type BatchMetricsSink, type ExportHookPoint } from './exchange.ts';
import { createBatchKeys } from './keys.ts';
import { startBatchScheduler } from './scheduler.ts';
import { createTerminalSettings } from './settings.ts';
import { createBatchStore } from './store.ts';

export { createSettingsExchange, visibleFileState, type ExportResult, type SettingsExchange } from './exchange.ts';
export type { TerminalSettingsView, TerminalSettingsResource } from './settings.ts';
export type { FileRecord, FileState } from './store.ts';

export interface BatchExportConfig {
  exportCron: string;
  timeZone: string;
  answerPollMs: number;
  answerOverdueMs: number;
  nakMaxResends: number;
}

/**
 * Builds the settings-file exchange on top of the operations: the terminal-settings resource for
 * the API, the exchange (export, recovery, answers), the ledger reads for the ops API, and the
 * schedules (with a worker when `runWorker`). One call from the composition root.
 */
export async function createBatchExport(deps: {
  operations: Operations;
  services: Services;
  files: FileTransferPort;
  format: SettingsFileFormat;
  config: BatchExportConfig;
  prefix: string;
  runWorker: boolean;
  logger: Logger;
  metrics?: BatchMetricsSink;
  hook?: (point: ExportHookPoint) => Promise<void> | void;
  /** TTL of the exchange lock (default 60 s; a killed process's lock lapses after it) */
  lockTtlMs?: number;
  /** how long a scheduled export waits for the exchange lock before its job fails (default 10 min) */
  exportBusyWaitMs?: number;
}) {
  const rt = deps.operations.runtime;
  const keys = createBatchKeys(deps.prefix);
  const store = createBatchStore(rt.redis, keys);
  const exchange = createSettingsExchange({
    redis: rt.redis,
    keys,
    store,
    operationKeys: rt.keys,
    operationStore: rt.store,
    deadLetters: rt.deadLetters,
    files: deps.files,
    format: deps.format,
    logger: deps.logger,
    timeZone: deps.config.timeZone,
    nakMaxResends: deps.config.nakMaxResends,
    overdueMs: deps.config.answerOverdueMs,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    ...(deps.hook ? { hook: deps.hook } : {}),
    ...(deps.lockTtlMs ? { lockTtlMs: deps.lockTtlMs } : {}),
  });
  const settings = createTerminalSettings({
    services: deps.services,
    store,
    redis: rt.redis,
    operationKeys: rt.keys,
    operationStore: rt.store,
    deadLetters: rt.deadLetters,
    cipher: rt.cipher,
  });
  const scheduler = await startBatchScheduler({
    redis: rt.redis,
    prefix: keys.bullPrefix,
    exchange,
    exportCron: deps.config.exportCron,
    timeZone: deps.config.timeZone,
    answerPollMs: deps.config.answerPollMs,
    runWorker: deps.runWorker,
    logger: deps.logger,
    exportStatusKey: keys.scheduledExport,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    ...(deps.exportBusyWaitMs !== undefined ? { exportBusyWaitMs: deps.exportBusyWaitMs } : {}),
  });
  return {
    settings,
    exchange,
    /** ledger reads for the ops API */
    ledger: {
      list: (limit: number, before?: number) => store.listFiles(limit, before),
      get: (name: string) => store.getFile(name),
      overdueMs: deps.config.answerOverdueMs,
      /** how many sent files have no answer after BATCH_ANSWER_OVERDUE_MS (the files still open) */
      async overdueCount(): Promise<number> {
        const t = Date.now();
        let n = 0;
        for (const name of await store.openFiles()) {
          const f = await store.getFile(name);
          if (f && visibleFileState(f, t, deps.config.answerOverdueMs) === 'overdue') n += 1;
        }
        return n;
      },
      /**
       * When the last scheduled export succeeded (sent, or nothing pending; epoch ms), or, before
       * the first, when the export schedule was first registered; null when neither is known.
       */
      async lastScheduledExportAt(): Promise<number | null> {
        const [ok, since] = await rt.redis.hmget(keys.scheduledExport, 'lastSuccessAt', 'since');
        const at = ok ?? since;
        return at == null ? null : Number(at);
      },
    },
    scheduler,
    close: () => scheduler.close(),
  };
}

export type BatchExport = Awaited<ReturnType<typeof createBatchExport>>;
