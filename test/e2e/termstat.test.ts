/**
 * TERMSTAT end to end in the embedded mode: TMO's simulated batch side publishes a snapshot of
 * its terminals over the embedded SFTP server, the ops API asks the gateway to look, the import
 * runs through the SFTP adapter into Redis, and `GET /v1/terminals/{id}` shows the activity.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { merchantSeed } from '../../src/simulators/test-support.ts';
import { createCapturedLogger } from '../support/log-capture.ts';

let gw: Gateway;
let token = '';
let tid = '';

const call = (method: string, path: string) =>
  gw.app.request(path, { method, headers: { Authorization: `Bearer ${token}` } });

beforeAll(async () => {
  const config = loadConfig({
    REDIS_URL: inject('redisUrl'),
    DEV_DATA_DIR: mkdtempSync(join(tmpdir(), 'lgw-termstat-e2e-')),
    BATCH_SNAPSHOT_SETTLE_MS: '0',
    LEGACY_TIME_ZONE: 'UTC',
  });
  gw = await startGateway(config, createCapturedLogger({ name: 'termstat-e2e' }), { listen: false, workers: false });
  const tmo = gw.simulators?.tmo;
  if (!tmo || !gw.devKeys) throw new Error('expected the embedded mode');
  const mid = tmo.state.seedMerchant(merchantSeed('01234567897'));
  tid = tmo.state.seedTerminal(mid, { STATUS: 'AC' });
  token = await gw.devKeys.signToken(['terminals:read', 'ops:read', 'ops:write']);
});

afterAll(async () => {
  await gw?.close();
});

describe('TERMSTAT through the embedded SFTP server', () => {
  it('when TMO publishes a snapshot and ops asks to look, then the import runs and the terminal shows its activity', async () => {
    const batch = gw.fileExchange.simulator?.batch;
    if (!batch) throw new Error('expected the embedded TMO batch side');
    const published = await batch.publishTermstat('20261127');
    expect(published.records).toBeGreaterThanOrEqual(1);

    expect((await call('POST', '/ops/batch/imports')).status).toBe(202);
    let run: Record<string, unknown> | undefined;
    for (let i = 0; i < 200 && run?.state !== 'imported'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      run = ((await (await call('GET', '/ops/batch/imports')).json()) as { items: Record<string, unknown>[] }).items[0];
    }
    expect(run).toMatchObject({ snapshotDate: '2026-11-27', state: 'imported', records: published.records });

    const terminal = (await (await call('GET', `/v1/terminals/${tid}`)).json()) as Record<string, unknown>;
    expect(terminal.activity).toMatchObject({ date: '2026-11-27', amount: { currency: 'EUR' } });
  });
});
