/**
 * Acceptance (settings file): through the real assembled gateway (startGateway, connected mode,
 * the real TMO adapter for the GetTerminal check), its in-process scheduler worker polling the
 * answers, a local folder as TMO's SFTP root and TMO's simulated batch side over the same
 * simulated terminals: PUT → export on demand → TMO applies → the operation succeeds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLocalFolderFiles } from '../../src/adapters/files/local-folder.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { createTmoBatch, type TmoBatch } from '../../src/simulators/tmo-batch/index.ts';
import { merchantSeed } from '../../src/simulators/test-support.ts';
import { createCapturedLogger } from '../support/log-capture.ts';
import { configOnFreePort, connectedSetup, flushDb, redisOnDb, startLegacy, waitFor, type ConnectedSetup, type Legacy, REDIS_DBS } from './support.ts';

const REDIS_DB = REDIS_DBS.terminalSettings;

let legacy: Legacy | undefined;
let setup: ConnectedSetup | undefined;
let gw: Gateway | undefined;
let batch: TmoBatch | undefined;
let root = '';

beforeAll(async () => {
  const redisUrl = redisOnDb(inject('redisUrl'), REDIS_DB);
  await flushDb(redisUrl);
  legacy = await startLegacy();
  setup = await connectedSetup(legacy, redisUrl, { BATCH_ANSWER_POLL_MS: '1000' });
  root = mkdtempSync(join(tmpdir(), 'lgw-acceptance-tpu-'));
  batch = createTmoBatch({ root, state: legacy.tmo.state });
  await batch.ensureFolders();
  gw = await startGateway(configOnFreePort(setup.env), createCapturedLogger({ name: 'acceptance-settings' }), {
    listen: true,
    files: createLocalFolderFiles(root),
  });
});

afterAll(async () => {
  await gw?.close();
  await legacy?.close();
  setup?.cleanup();
  rmSync(root, { recursive: true, force: true });
});

describe('acceptance: terminal settings through the nightly file', () => {
  it('when settings are put and exported on demand, then TMO applies them once and the operation ends succeeded', async () => {
    if (!gw?.url || !legacy || !setup || !batch) throw new Error('set-up failed');
    const mid = legacy.tmo.state.seedMerchant({ ...merchantSeed('12312312312'), MERCH_NAME: 'BAR ACCEPTANCE' });
    const tid = legacy.tmo.state.seedTerminal(mid, { STATUS: 'AC' });
    const token = await setup.keys.signToken(['terminals:read', 'terminals:write', 'ops:read', 'ops:write'], { subject: 'client-settings' });
    const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };

    const put = await fetch(`${gw.url}/v1/terminals/${tid}/settings`, {
      method: 'PUT',
      headers: { ...headers, 'Idempotency-Key': 'acc-settings-1' },
      body: JSON.stringify({ tipping: true, contactless: false, contactlessLimit: { amount: 2500, currency: 'EUR' }, receiptLines: ['Buona giornata', ''], language: 'en' }),
    });
    expect(put.status).toBe(202);
    const location = put.headers.get('location') ?? '';

    const exp = await fetch(`${gw.url}/ops/batch/exports`, { method: 'POST', headers });
    const { file } = (await exp.json()) as { file: string };
    expect(file).toMatch(/^TPU_\d{8}_001\.DAT$/);
    expect(await batch.processInbox()).toMatchObject([{ name: file, answer: 'ACK', applied: 1 }]);

    const op = await waitFor(
      'the operation to end',
      async () => {
        const body = (await (await fetch(`${gw?.url}${location}`, { headers })).json()) as { status: string };
        return body.status === 'running' ? undefined : body;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    expect(op).toMatchObject({ status: 'succeeded', kind: 'terminal.settings' });
    expect(legacy.tmo.state.settingsApplications(tid)).toHaveLength(1);
    expect(legacy.tmo.state.terminal(tid)?.SETTINGS).toMatchObject({ RECEIPT_LINE_1: 'BUONA GIORNATA', LANGUAGE: 'EN', CTLS_LIMIT: '002500' });
    const view = await (await fetch(`${gw.url}/v1/terminals/${tid}/settings`, { headers })).json();
    expect(view).toMatchObject({ applied: { settings: { language: 'en' } }, pendingChange: { state: 'applied' } });
    const metrics = await gw.metrics.render();
    expect(metrics).toMatch(/lgw_batch_files_sent_total 1/);
    expect(metrics).toMatch(/lgw_batch_records_total\{outcome="applied"\} 1/);
  }, 60_000);
});
