import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createLocalFolderFiles } from '../../../adapters/files/local-folder.ts';
import { createTpuFormat } from '../../../adapters/files/tpu-format.ts';
import { NotFoundError } from '../../../domain/errors/index.ts';
import type { Terminal } from '../../../domain/model.ts';
import type { Services } from '../../../domain/services/types.ts';
import type { TerminalSettings } from '../../../domain/terminal-settings.ts';
import { createTmoBatch, type TmoBatch } from '../../../simulators/tmo-batch/index.ts';
import { TmoStore } from '../../../simulators/tmo/state.ts';
import { createOperations, type Operations } from '../../operations.ts';
import { FakeCircuits, testCipher } from '../../test-support/harness.ts';
import { createBatchExport, type BatchExport, type BatchExportConfig } from '../index.ts';
import type { BatchMetricsSink, ExportHookPoint } from '../exchange.ts';
import { merchantSeed } from '../../../simulators/test-support.ts';

const STATUS = { PE: 'pending', AC: 'active', SU: 'suspended', DC: 'decommissioned' } as const;

/** `Services` whose `terminals.get` reads the simulated TMO's terminals (all the settings resource needs). */
export function servicesOver(tmo: TmoStore): Services {
  const get = async (terminalId: string): Promise<Terminal> => {
    const t = tmo.terminal(terminalId);
    if (!t) throw new NotFoundError('terminal.not_found', 'No terminal with this id.');
    return {
      id: t.TID,
      tmoMerchantId: t.MID,
      model: 'A920',
      serialNumber: null,
      status: STATUS[t.STATUS],
      contactless: t.CONTACTLESS === 'Y',
      currency: 'EUR',
      lastSeenAt: null,
    };
  };
  return { terminals: { get } } as unknown as Services;
}

export const SETTINGS: TerminalSettings = {
  tipping: true,
  contactless: true,
  contactlessLimit: { amount: 5000, currency: 'EUR' },
  receiptLines: ['Grazie e arrivederci', ''],
  language: 'it',
};

export const CONFIG: BatchExportConfig = {
  exportCron: '0 1 * * *',
  timeZone: 'Europe/Rome',
  answerPollMs: 60_000,
  answerOverdueMs: 6 * 3_600_000,
  nakMaxResends: 1,
};

export interface BatchHarness {
  root: string;
  prefix: string;
  tmo: TmoStore;
  tmoBatch: TmoBatch;
  services: Services;
  operations: Operations;
  batch: BatchExport;
  /** `count` terminals seeded for one merchant; returns their TIDs */
  seedTerminals(count: number, status?: 'AC' | 'DC' | 'SU'): string[];
  put(terminalId: string, settings?: Partial<TerminalSettings>): Promise<string>;
  close(): Promise<void>;
}

let vat = 10_000_000_000;

/** A gateway's batch side over a private prefix, a temp folder as TMO's SFTP root and TMO's simulated batch side. */
export async function batchHarness(
  redisUrl: string,
  opts: {
    config?: Partial<BatchExportConfig>;
    prefix?: string;
    root?: string;
    hook?: (p: ExportHookPoint) => Promise<void> | void;
    lockTtlMs?: number;
    tmo?: TmoStore;
    runWorker?: boolean;
    metrics?: BatchMetricsSink;
    exportBusyWaitMs?: number;
  } = {},
): Promise<BatchHarness> {
  const root = opts.root ?? (await mkdtemp(join(tmpdir(), 'tpu-')));
  const prefix = opts.prefix ?? `test:${randomBytes(4).toString('hex')}`;
  const tmo = opts.tmo ?? new TmoStore(Date.now, 1, { list: () => [], clear: () => undefined }, undefined);
  const tmoBatch = createTmoBatch({ root, state: tmo });
  await tmoBatch.ensureFolders();
  const services = servicesOver(tmo);
  const operations = createOperations({ redisUrl, services, cipher: testCipher(), circuits: new FakeCircuits(), prefix });
  const batch = await createBatchExport({
    operations,
    services,
    files: createLocalFolderFiles(root),
    format: createTpuFormat(),
    config: { ...CONFIG, ...opts.config },
    prefix,
    runWorker: opts.runWorker ?? false,
    logger: pino({ level: 'silent' }),
    ...(opts.hook ? { hook: opts.hook } : {}),
    ...(opts.lockTtlMs ? { lockTtlMs: opts.lockTtlMs } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.exportBusyWaitMs !== undefined ? { exportBusyWaitMs: opts.exportBusyWaitMs } : {}),
  });
  let mid: string | undefined;
  return {
    root,
    prefix,
    tmo,
    tmoBatch,
    services,
    operations,
    batch,
    seedTerminals(count, status = 'AC') {
      vat += 1;
      mid ??= tmo.seedMerchant(merchantSeed(String(vat)));
      return Array.from({ length: count }, () => tmo.seedTerminal(mid ?? '', { STATUS: status }));
    },
    async put(terminalId, settings = {}) {
      const r = await batch.settings.submit(terminalId, { ...SETTINGS, ...settings }, { requestId: 'req-test', principal: 'svc-test', preferAsync: false });
      return r.operationId;
    },
    async close() {
      await batch.close();
      await operations.close();
      if (!opts.root) await rm(root, { recursive: true, force: true });
    },
  };
}
