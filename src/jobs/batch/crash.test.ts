import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { ExportHookPoint } from './exchange.ts';
import { batchHarness, type BatchHarness } from './test-support/harness.ts';

const redisUrl = inject('redisUrl');
const CHILD = fileURLToPath(new URL('./test-support/export-child.ts', import.meta.url));
const LOCK_TTL_MS = 800;
const CHANGES = 700; // about 85 KB: two chunks, so a kill "during the upload" leaves a partial .PART

let h: BatchHarness;
afterEach(async () => {
  await h.close();
});

/** Runs one export in a child process; resolves with its exit signal and stdout. */
function runChild(env: Record<string, string>): Promise<{ signal: NodeJS.Signals | null; code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', REDIS_URL: redisUrl, PREFIX: h.prefix, ROOT: h.root, LOCK_TTL_MS: String(LOCK_TTL_MS), ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.once('error', reject);
    p.once('exit', (code, signal) => resolve({ code, signal, out }));
  });
}

/** Exports (waiting out a dead process's lock), lets TMO pick up and answers be read, until nothing is left. */
async function drain(): Promise<void> {
  for (let round = 0; round < 50; round += 1) {
    const r = await h.batch.exchange.exportNow();
    if (r.outcome === 'busy') {
      await new Promise((res) => setTimeout(res, 200));
      continue;
    }
    await h.tmoBatch.processInbox();
    await h.batch.exchange.processAnswers();
    if (r.outcome === 'nothing_pending' && (await h.batch.ledger.list(100)).files.every((f) => !['uploading', 'uploaded', 'sent'].includes(f.state))) return;
  }
  throw new Error('the exchange did not settle');
}

describe('settings export: SIGKILL at every step, then restart (TMO counts on its side)', () => {
  it.each<[ExportHookPoint, string, boolean]>([
    ['claimed', 'after the ledger is written, before the upload', false],
    ['during-upload', 'during the upload (a partial .PART)', false],
    ['uploaded', 'between the upload and the rename', false],
    ['renamed', 'between the rename and the ledger update, TMO not yet there', false],
    ['renamed', 'between the rename and the ledger update, TMO already picked the file up', true],
  ])('when the export is killed at %s (%s), then after a restart every change reaches TMO exactly once and no name is reused', async (point, _what, tmoPicksUpBeforeRestart) => {
    h = await batchHarness(redisUrl, { lockTtlMs: LOCK_TTL_MS });
    const tids = h.seedTerminals(CHANGES);
    const ops: string[] = [];
    for (let i = 0; i < tids.length; i += 50) ops.push(...(await Promise.all(tids.slice(i, i + 50).map((tid) => h.put(tid)))));

    const crashed = await runChild({ CRASH_AT: point });
    expect(crashed.signal).toBe('SIGKILL');
    const inbox = await readdir(join(h.root, 'inbox'));
    if (point === 'during-upload') expect(inbox.some((n) => n.endsWith('.DAT.PART'))).toBe(true);
    if (point === 'uploaded') expect(inbox.filter((n) => n.endsWith('.PART'))).toHaveLength(1);
    if (point === 'renamed') expect(inbox.filter((n) => n.endsWith('.DAT'))).toHaveLength(1);
    if (tmoPicksUpBeforeRestart) expect(await h.tmoBatch.processInbox()).toHaveLength(1);

    // the restart: a fresh process runs the export to its end
    for (;;) {
      const restarted = await runChild({});
      expect(restarted.code).toBe(0);
      if (!restarted.out.includes('"busy"')) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    await drain();

    // counted on TMO's side: each terminal's change applied once, never refused as a duplicate name
    expect(h.tmo.settingsApplicationCount()).toBe(CHANGES);
    for (const tid of tids) expect(h.tmo.settingsApplications(tid)).toHaveLength(1);
    const pickups = h.tmoBatch.pickups();
    expect(pickups.filter((p) => p.answer !== 'ACK')).toEqual([]);
    const names = pickups.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    const ledger = (await h.batch.ledger.list(100)).files;
    expect(new Set(ledger.map((f) => f.name)).size).toBe(ledger.length);
    expect(ledger.filter((f) => f.state === 'acknowledged')).toHaveLength(1);
    // before the rename TMO never saw the name: it is abandoned (and stays used); after it, the file is finished
    const abandoned = ledger.filter((f) => f.state === 'abandoned').length;
    expect(abandoned).toBe(point === 'claimed' || point === 'during-upload' ? 1 : 0);
    const statuses = await Promise.all(ops.map(async (id) => (await h.operations.get(id))?.status));
    expect(statuses.every((s) => s === 'succeeded')).toBe(true);
    expect(await readdir(join(h.root, 'inbox'))).toEqual([]);
  }, 90_000);
});
