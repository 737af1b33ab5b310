/**
 * Acceptance (issue 6): "Two gateway processes on one Redis: the nightly export runs once."
 *
 * Two real gateways (`src/main.ts`, connected mode, workers in-process) as two CHILD processes
 * on one Redis, both logging in to one SFTP server (the SSH/SFTP test server over a temp folder
 * that TMO's simulated batch side reads as its root), both scheduling the export at the same
 * time of day and both running the schedule's worker. Changes are put through both. When the
 * export time comes, exactly one TPU file reaches TMO's inbox and TMO (counted on its side)
 * applies each change exactly once; every operation then succeeds from the one ACK.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import { createBatchKeys } from '../../src/jobs/batch/keys.ts';
import { BATCH_QUEUE } from '../../src/jobs/batch/scheduler.ts';
import { createKeys } from '../../src/jobs/keys.ts';
import { generateSshKeyPair, startSftpServer, type SftpServer } from '../../src/simulators/sftp/index.ts';
import { merchantSeed } from '../../src/simulators/test-support.ts';
import { createTmoBatch, type TmoBatch } from '../../src/simulators/tmo-batch/index.ts';
import { scrubSensitive } from '../support/log-capture.ts';
import { connectedSetup, flushDb, redisOnDb, startGatewayOnFreePorts, startLegacy, waitFor, type ChildProcessHandle, type ConnectedSetup, type Legacy, REDIS_DBS } from './support.ts';

const REDIS_DB = REDIS_DBS.batchTwoProcesses;
const PREFIX = 'lgw';
const CHANGES = 30;
/** the export fires this long after the test starts: time for both processes to start and the PUTs */
const EXPORT_AFTER_MS = 75_000;

let legacy: Legacy | undefined;
let setup: ConnectedSetup | undefined;
let sftp: SftpServer | undefined;
let tmoBatch: TmoBatch | undefined;
let redis: Redis | undefined;
let queue: Queue | undefined;
let root = '';
let keyDir = '';
let exportAt = new Date();
const children: { handle: ChildProcessHandle; base: string }[] = [];

/** A 6-field cron (seconds first) for one time of day, UTC. */
const cronAt = (d: Date) => `${d.getUTCSeconds()} ${d.getUTCMinutes()} ${d.getUTCHours()} * * *`;

async function startGatewayChild(label: string): Promise<{ handle: ChildProcessHandle; base: string }> {
  if (!setup) throw new Error('set-up failed');
  // every child started goes on the list (to be killed afterwards); the ready one gets its base
  const { child: handle, ports } = await startGatewayOnFreePorts(setup.env, label, {
    portVars: ['PORT'],
    timeoutMs: 60_000,
    onSpawn: (c) => children.push({ handle: c, base: '' }),
  });
  const child = children.find((c) => c.handle === handle) as { handle: ChildProcessHandle; base: string };
  child.base = `http://127.0.0.1:${ports.PORT}`;
  return child;
}

const iso = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString());

/**
 * What a failure needs to be diagnosed from a CI log alone: BullMQ's view of the batch queue
 * (the job schedulers, the job counts, every export job, the answers jobs around the export time),
 * the exchange lock, and each child's last output lines (fixture secrets scrubbed).
 */
async function diagnostics(): Promise<string> {
  const out: string[] = [`export due at ${exportAt.toISOString()}, report at ${new Date().toISOString()}`];
  try {
    if (queue && redis) {
      const lockKey = createBatchKeys(PREFIX).lock;
      out.push(`exchange lock: ${JSON.stringify(await redis.get(lockKey))} pttl ${await redis.pttl(lockKey)} ms`);
      out.push(`job schedulers: ${JSON.stringify(await queue.getJobSchedulers())}`);
      out.push(`job counts: ${JSON.stringify(await queue.getJobCounts())}`);
      const near = (t: number | undefined) => t !== undefined && Math.abs(t - exportAt.getTime()) < 10_000;
      for (const state of ['active', 'waiting', 'delayed', 'prioritized', 'failed', 'completed'] as const) {
        for (const j of await queue.getJobs([state], 0, 2_000, true)) {
          if (j.name === 'answers' && !near(j.processedOn) && !near(j.finishedOn) && state === 'completed') continue;
          out.push(
            `${state} ${j.name} ${j.id ?? '?'} created ${iso(j.timestamp)} delay ${j.delay} processed ${iso(j.processedOn)} finished ${iso(j.finishedOn)}` +
              ` attempts ${j.attemptsMade} failedReason ${JSON.stringify(j.failedReason)} returned ${JSON.stringify(j.returnvalue)}`,
          );
        }
      }
    }
  } catch (err) {
    out.push(`batch queue state unavailable: ${String(err)}`);
  }
  for (const c of children) out.push(`--- ${c.base || '(not ready)'}: last lines of its output ---`, scrubSensitive(c.handle.output()));
  return out.join('\n');
}

beforeAll(async () => {
  const redisUrl = redisOnDb(inject('redisUrl'), REDIS_DB);
  await flushDb(redisUrl);
  redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  legacy = await startLegacy();
  root = mkdtempSync(join(tmpdir(), 'lgw-acceptance-two-'));
  tmoBatch = createTmoBatch({ root, state: legacy.tmo.state });
  await tmoBatch.ensureFolders();
  const client = generateSshKeyPair('gateway');
  sftp = await startSftpServer({ root, authorizedKeys: [client.public] });
  keyDir = mkdtempSync(join(tmpdir(), 'lgw-acceptance-two-key-'));
  writeFileSync(join(keyDir, 'id_ed25519'), client.private, { mode: 0o600 });
  exportAt = new Date(Math.ceil((Date.now() + EXPORT_AFTER_MS) / 1000) * 1000);
  setup = await connectedSetup(legacy, redisUrl, {
    LOG_LEVEL: 'info',
    REDIS_KEY_PREFIX: PREFIX,
    WORKERS_IN_PROCESS: 'true',
    SFTP_HOST: sftp.host,
    SFTP_PORT: String(sftp.port),
    SFTP_USERNAME: 'gateway',
    SFTP_PRIVATE_KEY_FILE: join(keyDir, 'id_ed25519'),
    SFTP_HOST_KEY_SHA256: sftp.hostKeySha256,
    // "nightly": one time of day, the same in both processes
    BATCH_EXPORT_CRON: cronAt(exportAt),
    BATCH_TIME_ZONE: 'UTC',
    BATCH_ANSWER_POLL_MS: '1000',
  });
  queue = new Queue(BATCH_QUEUE, { connection: redis.duplicate({ maxRetriesPerRequest: null }), prefix: createBatchKeys(PREFIX).bullPrefix });
}, 90_000);

afterAll(async () => {
  for (const c of children) await c.handle.kill().catch(() => undefined);
  await queue?.close();
  await sftp?.close();
  await legacy?.close();
  redis?.disconnect();
  setup?.cleanup();
  rmSync(root, { recursive: true, force: true });
  rmSync(keyDir, { recursive: true, force: true });
});

describe('acceptance: two gateway processes on one Redis', () => {
  it(
    'when both processes schedule and work the nightly export and its time comes, then one file goes to TMO and each change is applied there exactly once',
    async () => {
      if (!legacy || !setup || !tmoBatch || !redis || !queue) throw new Error('set-up failed');
      onTestFailed(async () => {
        console.error(`batch-two-processes failed; diagnostics:\n${await diagnostics()}`);
      });
      const state = legacy.tmo.state;
      const [a, b] = await Promise.all([startGatewayChild('tpu-a'), startGatewayChild('tpu-b')]);

      const mid = state.seedMerchant(merchantSeed(String(10_000_000_000 + Math.floor(Math.random() * 1e9))));
      const tids = Array.from({ length: CHANGES }, () => state.seedTerminal(mid, { STATUS: 'AC' }));
      const token = await setup.keys.signToken(['terminals:read', 'terminals:write'], { subject: 'client-two-processes' });
      const ops = await Promise.all(
        tids.map(async (tid, i) => {
          const res = await fetch(`${(i % 2 === 0 ? a : b).base}/v1/terminals/${tid}/settings`, {
            method: 'PUT',
            headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Idempotency-Key': `two-${randomBytes(6).toString('hex')}` },
            body: JSON.stringify({ tipping: i % 3 === 0, contactless: true, contactlessLimit: { amount: 5000, currency: 'EUR' }, receiptLines: ['Grazie', ''], language: 'it' }),
          });
          expect(res.status).toBe(202);
          return String(((await res.json()) as { operationId?: unknown }).operationId);
        }),
      );
      // both processes run the schedule's worker, and nothing left before the export time
      expect((await queue.getWorkers()).length).toBe(2);
      expect(Date.now()).toBeLessThan(exportAt.getTime() - 1_000);
      expect(readdirSync(join(root, 'inbox'))).toEqual([]);

      // the tick's job (BullMQ names a scheduler's iteration repeat:<scheduler id>:<due ms>): once it
      // has ended without sending, no file is coming, and the report says what it returned
      const tickJobId = `repeat:tpu-export:${exportAt.getTime()}`;
      const inbox = await waitFor(
        'the nightly file in the inbox',
        async () => {
          const names = readdirSync(join(root, 'inbox')).filter((n) => n.endsWith('.DAT'));
          if (names.length > 0) return names;
          const tick = await queue?.getJob(tickJobId);
          if (tick?.finishedOn !== undefined && (tick.returnvalue as { outcome?: string } | null)?.outcome !== 'sent') {
            throw new Error(`the export job of the tick ended without a file: returned ${JSON.stringify(tick.returnvalue)}, failedReason ${JSON.stringify(tick.failedReason)}`);
          }
          return undefined;
        },
        { timeoutMs: exportAt.getTime() - Date.now() + 30_000, intervalMs: 200 },
      );
      // the other process's turn, had it one, would come within the same tick: give it time
      await new Promise((res) => setTimeout(res, 3_000));
      expect(readdirSync(join(root, 'inbox')).filter((n) => !n.startsWith('.'))).toEqual(inbox);
      expect(inbox).toHaveLength(1);

      const pickups = await tmoBatch.processInbox();
      expect(pickups.map((p) => p.answer)).toEqual(['ACK']);
      // counted on TMO's side: every change applied once
      expect(state.settingsApplicationCount()).toBe(CHANGES);
      for (const tid of tids) expect(state.settingsApplications(tid)).toHaveLength(1);

      const exportJobs = (await queue.getJobs(['completed', 'failed'])).filter((j) => j.name === 'export');
      expect(exportJobs).toHaveLength(1);
      expect(exportJobs[0]?.returnvalue).toMatchObject({ outcome: 'sent', records: CHANGES });

      // and the one ACK, read by whichever process polls first, ends every operation
      const opKeys = createKeys(PREFIX);
      await waitFor(
        'every operation to succeed',
        async () => {
          const statuses = await Promise.all(ops.map((id) => redis?.hget(opKeys.operation(id), 'status')));
          return statuses.every((s) => s === 'succeeded') ? true : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      expect(readdirSync(join(root, 'inbox'))).toEqual([]);
      expect(tmoBatch.pickups()).toHaveLength(1);
    },
    EXPORT_AFTER_MS + 90_000,
  );
});
