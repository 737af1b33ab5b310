import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { loadConfig } from './config.ts';
import { startFileExchange, type FileExchange } from './file-exchange.ts';
import { startGateway, type Gateway } from './gateway.ts';
import { createLogger } from './infra/logger.ts';
import { startTmoSimulator, type TmoSimulator } from './simulators/index.ts';
import { merchantSeed } from './simulators/test-support.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/batch/', import.meta.url));
const logger = createLogger({ level: 'silent' });
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function embedded(): Promise<{ exchange: FileExchange; tmo: TmoSimulator; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'lgw-fx-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const tmo = await startTmoSimulator();
  cleanup.push(() => tmo.close());
  const exchange = await startFileExchange(loadConfig({ DEV_DATA_DIR: dir, SFTP_SIM_PICKUP_MS: '0' }), logger, tmo);
  cleanup.push(() => exchange.close());
  return { exchange, tmo, dir };
}

describe('file exchange (embedded SFTP)', () => {
  it('when a TPU file is uploaded through the adapter and TMO picks it up, then its answer can be read back over SFTP', async () => {
    const { exchange, tmo } = await embedded();
    const files = exchange.files;
    if (!files || !exchange.simulator) throw new Error('embedded mode must have an SFTP simulator');
    const name = 'TPU_20261127_001.DAT';
    await files.upload(`/inbox/${name}.PART`, [await readFile(join(FIXTURES, 'tpu', name))]);
    await files.rename(`/inbox/${name}.PART`, `/inbox/${name}`);
    const res = await fetch(new URL('/_sim/batch/pickup', tmo.url), { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ pickups: [{ name, answer: 'ACK', applied: 0, rejected: 9 }] });
    const chunks: Buffer[] = [];
    for await (const c of files.read('/outbox/TPU_20261127_001.ACK')) chunks.push(c);
    const ack = Buffer.concat(chunks).toString('latin1');
    expect(ack.split('\r\n')[2]).toBe(`D000002NOSUCH01R202${' '.repeat(21)}`);
  });

  it('when POST /_sim/termstat is called on the TMO simulator, then TERMSTAT and its .OK appear in /outbox', async () => {
    const { exchange, tmo } = await embedded();
    const mid = tmo.state.seedMerchant(merchantSeed('01234567890'));
    tmo.state.seedTerminal(mid, { STATUS: 'AC' });
    const res = await fetch(new URL('/_sim/termstat', tmo.url), { method: 'POST', body: JSON.stringify({ date: '2026-11-27' }) });
    expect(await res.json()).toEqual({ path: '/outbox/TERMSTAT_20261127.DAT', records: 1, bytes: 3 * 82 });
    expect(await exchange.files?.stat('/outbox/TERMSTAT_20261127.OK')).toMatchObject({ size: 0 });
    const bad = await fetch(new URL('/_sim/termstat', tmo.url), { method: 'POST', body: '{"date":"27/11/2026"}' });
    expect(bad.status).toBe(400);
  });

  it('when the gateway starts in embedded mode, then the SFTP circuit is listed with TMO and CRM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lgw-fx-gw-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const gw: Gateway = await startGateway(loadConfig({ REDIS_URL: inject('redisUrl'), DEV_DATA_DIR: dir }), logger, { listen: false, workers: false });
    cleanup.push(() => gw.close());
    expect(gw.circuits.circuits().map((c) => c.system)).toEqual(['tmo', 'crm', 'sftp']);
    expect(gw.fileExchange.simulator?.hostKeySha256).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect((await gw.fileExchange.files?.list('/'))?.map((e) => e.name).sort()).toEqual(['inbox', 'outbox']);
  });

  it('when connected mode has no SFTP_HOST, then there is no file exchange and no SFTP circuit', async () => {
    const config = loadConfig({});
    const exchange = await startFileExchange({ ...config, mode: 'connected' }, logger, null);
    expect(exchange.files).toBeNull();
    await exchange.close();
  });
});
