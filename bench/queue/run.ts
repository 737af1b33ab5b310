/**
 * Queue bench (`npm run bench:queue [-- --m 5000 --concurrency 4,16,64]`): end-to-end commands/s
 * through the durable queue to zero-latency legacy simulators, on this machine.
 *
 * Per worker concurrency: a fresh private redis-server, the simulators in their own process
 * (no latency, no faults; one merchant with 200 active terminals), one worker process
 * (`src/worker.ts`, `WORKER_CONCURRENCY` = the value under test), and this process submitting
 * M terminal status changes with `Prefer: respond-async` semantics straight through
 * `operations.submit` (no HTTP: the queue is what is measured). Each command is
 * ChangeTerminalStatus + GetTerminal on TMO plus the job layer's Redis work (record, lease,
 * step store, BullMQ). Measured from the first submit to the last job finished; end-to-end
 * latency per command = job finished − job added.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config.ts';
import { startGateway } from '../../src/gateway.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { jobIdOf } from '../../src/jobs/queues.ts';
import { firstLine, quantile, sleep, spawnTs, startStack, table, waitFor } from '../durability/stack.ts';

const { values: argv } = parseArgs({
  options: {
    m: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '4,16,64' },
    'submit-concurrency': { type: 'string', default: '64' },
    'timeout-s': { type: 'string', default: '300' },
    // writes a V8 CPU profile of the worker process (open it in Chrome DevTools)
    profile: { type: 'string' },
  },
});
const M = Number(argv.m);
const LEVELS = argv.concurrency.split(',').map(Number);
const SUBMIT_CONCURRENCY = Number(argv['submit-concurrency']);
if (!Number.isInteger(M) || M < 1 || M > 10_000) throw new Error('--m must be 1..10000 (BullMQ keeps the last 10,000 completed jobs)');
if (LEVELS.some((c) => !Number.isInteger(c) || c < 1)) throw new Error('--concurrency must be a comma list of positive integers');

const say = (msg: string) => process.stdout.write(`${msg}\n`);

interface Result {
  concurrency: number;
  seconds: number;
  perSecond: number;
  submitPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  succeeded: number;
  failed: number;
  load: string;
  /** p50 end-to-end of one command at a time (no queue behind it) */
  idleP50: number;
}

async function runOnce(concurrency: number): Promise<Result> {
  const stack = await startStack();
  const legacy = spawnTs('legacy', 'bench/support/legacy-process.ts', { PATH: process.env.PATH ?? '', TERMINALS: '200' }, join(stack.dir, 'legacy.log'));
  const redis = new Redis(stack.redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue('ops-tmo', { connection: redis, prefix: '{lgw}:bull' });
  let worker: ReturnType<typeof spawnTs> | undefined;
  let gw: Awaited<ReturnType<typeof startGateway>> | undefined;
  try {
    const announced = JSON.parse(await firstLine(legacy, /^\{/)) as { tmoUrl: string; crmUrl: string; terminalIds: string[] };
    const env = stack.env(
      { tmoUrl: announced.tmoUrl, crmUrl: announced.crmUrl },
      {
        WORKERS_IN_PROCESS: 'false',
        WORKER_CONCURRENCY: String(concurrency),
        LOG_LEVEL: 'warn',
      },
    );
    worker = spawnTs('worker', 'src/worker.ts', env, join(stack.dir, 'worker.log'), argv.profile ? ['--cpu-prof', `--cpu-prof-dir=${argv.profile}`] : []);
    // This process only submits: the same wiring as the gateway, without HTTP or workers.
    gw = await startGateway(loadConfig(env), createLogger({ level: 'error' }), { listen: false, workers: false });
    await waitFor('the worker', async () => (await queue.getWorkersCount()) > 0, 60_000, 200);

    // Warm-up (connections, JIT, the worker's merchant link cache); not measured.
    const tids = announced.terminalIds;
    const ctx = { requestId: 'queue-bench', principal: 'bench', preferAsync: true };
    for (let i = 0; i < 50; i++) {
      await gw.operations.submit('terminal.status', { terminalId: tids[i % tids.length] ?? '', status: 'active', reason: 'other' }, ctx);
    }
    await waitFor('the warm-up', async () => (await queue.getCompletedCount()) >= 50, 60_000, 50);

    // Unloaded latency: one command at a time, each awaited before the next.
    const idle: number[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await gw.operations.submit('terminal.status', { terminalId: tids[i] ?? '', status: 'active', reason: 'other' }, ctx);
      if (r.outcome !== 'accepted') throw new Error('expected accepted');
      for (;;) {
        const job = await queue.getJob(jobIdOf(r.operationId, 1));
        if (job?.finishedOn) {
          idle.push(job.finishedOn - job.timestamp);
          break;
        }
        await sleep(1);
      }
    }
    idle.sort((a, b) => a - b);
    const warm = await queue.getCompletedCount();

    const t0 = Date.now();
    let next = 0;
    const operations = gw.operations;
    await Promise.all(
      Array.from({ length: SUBMIT_CONCURRENCY }, async () => {
        for (let i = next++; i < M; i = next++) {
          // Round robin over the terminals, suspending on even passes and re-activating on odd
          // ones: every command is a real change (an unchanged status would also succeed).
          const pass = Math.floor(i / tids.length);
          await operations.submit(
            'terminal.status',
            { terminalId: tids[i % tids.length] ?? '', status: pass % 2 === 0 ? 'suspended' : 'active', reason: 'merchant_request' },
            ctx,
          );
        }
      }),
    );
    const submitted = Date.now();
    const deadline = Date.now() + Number(argv['timeout-s']) * 1000;
    for (;;) {
      const c = await queue.getJobCounts('completed', 'failed');
      if ((c.completed ?? 0) + (c.failed ?? 0) >= M + warm) break;
      if (Date.now() > deadline) throw new Error(`not finished within ${argv['timeout-s']} s: ${JSON.stringify(c)}`);
      await sleep(50);
    }
    const load = loadavg().map((l) => l.toFixed(2)).join(' ');

    const jobs = (await queue.getJobs(['completed', 'failed'], 0, M + warm)).filter((j) => j.timestamp >= t0);
    const latencies = jobs.map((j) => (j.finishedOn ?? 0) - j.timestamp).sort((a, b) => a - b);
    const last = Math.max(...jobs.map((j) => j.finishedOn ?? 0));
    const succeeded = jobs.filter((j) => j.finishedOn && !j.failedReason && j.returnvalue && 'resource' in (j.returnvalue as object)).length;
    const seconds = (last - t0) / 1000;
    return {
      concurrency,
      seconds,
      perSecond: jobs.length / seconds,
      submitPerSecond: M / ((submitted - t0) / 1000),
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      max: latencies[latencies.length - 1] ?? NaN,
      succeeded,
      failed: jobs.length - succeeded,
      load,
      idleP50: quantile(idle, 0.5),
    };
  } finally {
    await gw?.close().catch(() => undefined);
    await worker?.stop();
    await legacy.stop();
    await queue.close().catch(() => undefined);
    await redis.quit().catch(() => undefined);
    await stack.close();
  }
}

async function main(): Promise<void> {
  say(`queue bench — ${new Date().toISOString()}, M=${M} terminal status changes per run, submit concurrency ${SUBMIT_CONCURRENCY}, load average before ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const results: Result[] = [];
  for (const c of LEVELS) {
    const r = await runOnce(c);
    say(`  WORKER_CONCURRENCY=${c}: ${r.perSecond.toFixed(0)} commands/s`);
    results.push(r);
  }
  say('');
  say(
    table([
      ['WORKER_CONCURRENCY', 'commands/s', 'submit/s', 'p50 ms', 'p99 ms', 'max ms', 'idle p50 ms', 'succeeded', 'failed', 'wall s', 'load avg (1 5 15)'],
      ...results.map((r) => [r.concurrency, Math.round(r.perSecond), Math.round(r.submitPerSecond), r.p50, r.p99, r.max, r.idleP50, r.succeeded, r.failed, r.seconds.toFixed(1), r.load]),
    ]),
  );
  say('');
  say('end-to-end = job added → job finished (operation succeeded). p50/p99/max are for the burst of M submits, so they');
  say('include the wait in the queue; "idle p50" is one command at a time with nothing queued.');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`queue bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
