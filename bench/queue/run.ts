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
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config.ts';
import { startGateway } from '../../src/gateway.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { jobIdOf } from '../../src/jobs/queues.ts';
import { peakPerSecond, startCountingProxy, type CountingProxy } from '../../src/simulators/test-support.ts';
import { firstLine, quantile, ROOT, sleep, spawnNode, spawnTs, startStack, table, waitFor } from '../durability/stack.ts';
import { gatewayEntryArgs } from '../support/gateway-entry.ts';
import { warmUntilSettled } from '../support/warm-up.ts';

const { values: argv } = parseArgs({
  options: {
    m: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '4,16,64' },
    'submit-concurrency': { type: 'string', default: '64' },
    'timeout-s': { type: 'string', default: '300' },
    // writes a V8 CPU profile of the worker process (open it in Chrome DevTools)
    profile: { type: 'string' },
    // prints Redis commands per command by name (INFO commandstats over the burst)
    commandstats: { type: 'boolean', default: false },
    // the drain scenario instead: M queued commands behind a TMO outage, paced at --rate
    drain: { type: 'boolean', default: false },
    'drain-m': { type: 'string', default: '10000' },
    'outage-s': { type: 'string', default: '30' },
    rate: { type: 'string', default: '200' },
    workers: { type: 'string', default: '2' },
    // the worker's entry point: src/worker.ts under tsx (`npm run worker`), or dist/worker.js on
    // plain node (`npm run worker:dist`, what the image runs; `npm run build` first)
    entry: { type: 'string', default: 'src/worker.ts' },
    // commands run before the measured burst, at least; then on while the worker's CPU per command still falls
    warmup: { type: 'string', default: '2000' },
    'log-level': { type: 'string', default: 'warn' },
    // records the worker on-CPU over the burst with Linux perf (`perf record -e cpu-clock -F 999 -g`) into this file
    perf: { type: 'string' },
  },
});
const M = Number(argv.m);
const LEVELS = argv.concurrency.split(',').map(Number);
const SUBMIT_CONCURRENCY = Number(argv['submit-concurrency']);
if (!Number.isInteger(M) || M < 1 || M > 10_000) throw new Error('--m must be 1..10000 (BullMQ keeps the last 10,000 completed jobs)');
if (LEVELS.some((c) => !Number.isInteger(c) || c < 1)) throw new Error('--concurrency must be a comma list of positive integers');
const WARMUP = Number(argv.warmup);
if (!Number.isInteger(WARMUP) || WARMUP < 0) throw new Error('--warmup must be a whole number of commands');
/** commands per warm-up chunk: the worker's CPU per command is read after each */
const WARMUP_CHUNK = 250;
/** the warm-up stops this many commands past --warmup even if the CPU per command still falls */
const WARMUP_MAX_EXTRA = 4000;
const ENTRY = argv.entry;
/** node arguments that run the worker (loader flags, then its path); checked now, a missing build fails at once */
const WORKER_ARGS = gatewayEntryArgs(ROOT, ENTRY);
/** BullMQ's floor worker on the same runtime as the measured worker: under tsx, or on plain node */
const FLOOR_ARGS = [...(ENTRY.endsWith('.ts') ? ['--import', 'tsx'] : []), 'bench/queue/floor-worker.mjs'];

const say = (msg: string) => process.stdout.write(`${msg}\n`);

/** utime+stime of a process in ms (Linux /proc; NaN elsewhere). */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
}

/** CPU Redis has used so far (INFO cpu: used_cpu_user + used_cpu_sys), in ms. */
async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const of = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return (of('used_cpu_user') + of('used_cpu_sys')) * 1000;
}

/** Calls of each command Redis has run so far (INFO commandstats; commands inside scripts included). */
async function redisCallsByName(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const by = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) by.set(m[1] ?? '', Number(m[2]));
  return by;
}

/** Total calls of every command Redis has run (INFO commandstats). */
async function redisCalls(redis: Redis): Promise<number> {
  let total = 0;
  for (const n of (await redisCallsByName(redis)).values()) total += n;
  return total;
}

/**
 * `perf record -e cpu-clock -F 999 -g -p <pid> -o <file>` until `stop()` (SIGINT; perf writes
 * its file and exits). The worker runs with `--perf-basic-prof`, so its JIT frames have names;
 * read the file with `perf report -i <file>` or `bench/support/perf-budget.ts`.
 */
function startPerf(pid: number, file: string): { stop(): Promise<void> } {
  const p = spawn('perf', ['record', '-e', 'cpu-clock', '-F', '999', '-g', '-p', String(pid), '-o', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  return {
    async stop() {
      p.kill('SIGINT');
      await exited;
    },
  };
}

interface Floor {
  perSecond: number;
  redisPerJob: number;
  cpuUsPerJob: number;
}

/** BullMQ's floor on the same Redis: M no-op jobs through a worker of the same concurrency. */
async function measureFloor(stack: Awaited<ReturnType<typeof startStack>>, redis: Redis, concurrency: number): Promise<Floor> {
  const child = spawnNode('floor', FLOOR_ARGS, { PATH: process.env.PATH ?? '', REDIS_URL: stack.redis.url, CONCURRENCY: String(concurrency) }, join(stack.dir, 'floor.log'));
  const queue = new Queue('floor', { connection: redis, prefix: '{lgw}:bull' });
  try {
    await firstLine(child, /ready/);
    const feed = async (n: number) => {
      for (let i = 0; i < n; i += 1000) {
        await queue.addBulk(Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({ name: 'noop', data: { i: i + k }, opts: { removeOnComplete: { count: 10_000 } } })));
      }
      while ((await queue.getCompletedCount()) < n) await sleep(50);
    };
    // warmed up like the worker (as many jobs as its minimum warm-up), so neither side is charged the JIT's warm-up
    if (WARMUP > 0) {
      await feed(WARMUP);
      await queue.clean(0, 100_000, 'completed');
    }
    const calls0 = await redisCalls(redis);
    const cpu0 = cpuMs(child.proc.pid);
    const t0 = Date.now();
    await feed(M);
    const seconds = (Date.now() - t0) / 1000;
    const cpu = cpuMs(child.proc.pid) - cpu0;
    const calls = (await redisCalls(redis)) - calls0;
    return { perSecond: M / seconds, redisPerJob: calls / M, cpuUsPerJob: (cpu * 1000) / M };
  } finally {
    await child.stop();
    await queue.close().catch(() => undefined);
  }
}

interface Result {
  concurrency: number;
  /** Redis commands per command (INFO commandstats over the burst; includes this bench's own polling) */
  redisPerCommand: number;
  /** worker process CPU per command, µs */
  cpuUsPerCommand: number;
  /** redis-server CPU per command, µs (INFO cpu over the burst; includes this bench's polling) */
  redisCpuUsPerCommand: number;
  /** the legacy simulators' process (two SOAP calls per command), µs per command */
  legacyCpuUsPerCommand: number;
  /** this process (submitting, polling), µs per command */
  submitCpuUsPerCommand: number;
  floor: Floor;
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
        LOG_LEVEL: argv['log-level'],
      },
    );
    const workerNodeArgs = [...(argv.profile ? ['--cpu-prof', `--cpu-prof-dir=${argv.profile}`] : []), ...(argv.perf ? ['--perf-basic-prof'] : [])];
    worker = spawnNode('worker', [...workerNodeArgs, ...WORKER_ARGS], env, join(stack.dir, 'worker.log'));
    const workerPid = worker.proc.pid;
    // This process only submits: the same wiring as the gateway, without HTTP or workers.
    gw = await startGateway(loadConfig(env), createLogger({ level: 'error' }), { listen: false, workers: false });
    await waitFor('the worker', async () => (await queue.getWorkersCount()) > 0, 60_000, 200);

    const tids = announced.terminalIds;
    const ctx = { requestId: 'queue-bench', principal: 'bench', preferAsync: true };
    const operations = gw.operations;
    // One counter over the warm-up and the burst: terminals round robin, suspended on even passes
    // and re-activated on odd ones, so every command is a real change (an unchanged status would
    // also succeed).
    let seq = 0;
    /** Submits n commands, SUBMIT_CONCURRENCY at a time; resolves once they are all submitted. */
    const submitMany = async (n: number) => {
      const from = seq;
      seq += n;
      let next = from;
      await Promise.all(
        Array.from({ length: SUBMIT_CONCURRENCY }, async () => {
          for (let i = next++; i < from + n; i = next++) {
            const pass = Math.floor(i / tids.length);
            await operations.submit(
              'terminal.status',
              { terminalId: tids[i % tids.length] ?? '', status: pass % 2 === 0 ? 'suspended' : 'active', reason: 'merchant_request' },
              ctx,
            );
          }
        }),
      );
    };
    const finished = async () => {
      const c = await queue.getJobCounts('completed', 'failed');
      return (c.completed ?? 0) + (c.failed ?? 0);
    };

    // Warm-up (connections, the worker's merchant link cache, and V8's JIT): bursts of
    // WARMUP_CHUNK commands like the measured one, at least --warmup commands, then on while the
    // worker's CPU per command still falls (a chunk 10 % below every one before it), at most
    // WARMUP_MAX_EXTRA more. Measured before that, the burst would be charged the JIT's warm-up.
    const chunk = Math.min(WARMUP_CHUNK, WARMUP); // --warmup 50: one chunk of 50, as before this option
    const warmCurve = await warmUntilSettled(
      async () => {
        const f0 = await finished();
        const c0 = cpuMs(workerPid);
        await submitMany(chunk);
        await waitFor('a warm-up chunk', async () => (await finished()) >= f0 + chunk, 120_000, 20);
        return ((cpuMs(workerPid) - c0) * 1000) / chunk;
      },
      { chunk, min: WARMUP, max: chunk < WARMUP_CHUNK ? WARMUP : WARMUP + WARMUP_MAX_EXTRA },
    );
    say(`  warm-up: ${seq} commands; worker CPU µs/command per ${chunk}: ${warmCurve.map((x) => x.toFixed(0)).join(' ')}`);

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
    // the burst is counted from an empty completed set (BullMQ keeps at most 10,000 completed jobs)
    await queue.clean(0, 100_000, 'completed');
    const warm = await finished();

    const byName0 = await redisCallsByName(redis);
    const calls0 = [...byName0.values()].reduce((a, b) => a + b, 0);
    const redisCpu0 = await redisCpuMs(redis);
    const perf = argv.perf && workerPid !== undefined ? startPerf(workerPid, argv.perf) : undefined;
    const cpu0 = cpuMs(workerPid);
    const legacyCpu0 = cpuMs(legacy.proc.pid);
    const selfCpu0 = process.cpuUsage();
    const t0 = Date.now();
    await submitMany(M);
    const submitted = Date.now();
    const deadline = Date.now() + Number(argv['timeout-s']) * 1000;
    for (;;) {
      const n = await finished();
      if (n >= M + warm) break;
      if (Date.now() > deadline) throw new Error(`not finished within ${argv['timeout-s']} s: ${n - warm} of ${M}`);
      await sleep(50);
    }
    const load = loadavg().map((l) => l.toFixed(2)).join(' ');
    const workerCpu = cpuMs(workerPid) - cpu0;
    const legacyCpu = cpuMs(legacy.proc.pid) - legacyCpu0;
    const self = process.cpuUsage(selfCpu0);
    await perf?.stop();
    const byName1 = await redisCallsByName(redis);
    const redisPerCommand = ([...byName1.values()].reduce((a, b) => a + b, 0) - calls0) / M;
    if (argv.commandstats) {
      const per = [...byName1].map(([name, n]) => [name, (n - (byName0.get(name) ?? 0)) / M] as const).filter(([, n]) => n > 0.005);
      say(`  Redis commands per command by name: ${per.sort((a, b) => b[1] - a[1]).map(([name, n]) => `${name} ${n.toFixed(2)}`).join(', ')}`);
    }
    const redisCpuUsPerCommand = (((await redisCpuMs(redis)) - redisCpu0) * 1000) / M;
    const floor = await measureFloor(stack, redis, concurrency);

    const jobs = (await queue.getJobs(['completed', 'failed'], 0, M + warm)).filter((j) => j.timestamp >= t0);
    const latencies = jobs.map((j) => (j.finishedOn ?? 0) - j.timestamp).sort((a, b) => a - b);
    const last = Math.max(...jobs.map((j) => j.finishedOn ?? 0));
    const succeeded = jobs.filter((j) => j.finishedOn && !j.failedReason && j.returnvalue && 'resource' in (j.returnvalue as object)).length;
    const seconds = (last - t0) / 1000;
    return {
      concurrency,
      redisPerCommand,
      cpuUsPerCommand: (workerCpu * 1000) / M,
      redisCpuUsPerCommand,
      legacyCpuUsPerCommand: (legacyCpu * 1000) / M,
      submitCpuUsPerCommand: (self.user + self.system) / M,
      floor,
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

/**
 * The drain scenario: M commands queued while TMO is down for --outage-s, TMO_MAX_RATE_PER_S
 * = --rate, --workers worker processes. A counting proxy in front of the TMO simulator sees
 * every call. Prints the time from TMO's return to the last success, breaker openings after
 * the return (from the workers' logs) and the peak TMO call rate after the return.
 */
async function drain(): Promise<void> {
  const m = Number(argv['drain-m']);
  const outageS = Number(argv['outage-s']);
  const rate = Number(argv.rate);
  const stack = await startStack();
  const legacy = spawnTs('legacy', 'bench/support/legacy-process.ts', { PATH: process.env.PATH ?? '', TERMINALS: '200' }, join(stack.dir, 'legacy.log'));
  const redis = new Redis(stack.redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue('ops-tmo', { connection: redis, prefix: '{lgw}:bull' });
  const workers: ReturnType<typeof spawnNode>[] = [];
  let gw: Awaited<ReturnType<typeof startGateway>> | undefined;
  let proxy: CountingProxy | undefined;
  try {
    const announced = JSON.parse(await firstLine(legacy, /^\{/)) as { tmoUrl: string; crmUrl: string; terminalIds: string[] };
    proxy = await startCountingProxy(announced.tmoUrl);
    const calls = proxy.calls;
    const env = stack.env(
      { tmoUrl: proxy.url, crmUrl: announced.crmUrl },
      { WORKERS_IN_PROCESS: 'false', WORKER_CONCURRENCY: '16', LOG_LEVEL: 'warn', TMO_MAX_RATE_PER_S: String(rate), TMO_BREAKER_RESET_MS: '5000' },
    );
    for (let i = 0; i < Number(argv.workers); i++) workers.push(spawnNode(`worker-${i}`, WORKER_ARGS, env, join(stack.dir, `worker-${i}.log`)));
    gw = await startGateway(loadConfig(env), createLogger({ level: 'error' }), { listen: false, workers: false });
    await waitFor('the workers', async () => (await queue.getWorkersCount()) >= workers.length, 60_000, 200);

    const outageUntil = Date.now() + outageS * 1000;
    const put = await fetch(new URL('/_sim/faults', announced.tmoUrl), { method: 'PUT', body: JSON.stringify({ outage: { from: Date.now() - 1, until: outageUntil } }) });
    if (!put.ok) throw new Error(`could not set the outage: ${put.status}`);
    const tids = announced.terminalIds;
    const ctx = { requestId: 'queue-drain', principal: 'bench', preferAsync: true };
    let next = 0;
    await Promise.all(
      Array.from({ length: SUBMIT_CONCURRENCY }, async () => {
        for (let i = next++; i < m; i = next++) {
          const pass = Math.floor(i / tids.length);
          await gw?.operations.submit('terminal.status', { terminalId: tids[i % tids.length] ?? '', status: pass % 2 === 0 ? 'suspended' : 'active', reason: 'merchant_request' }, ctx);
        }
      }),
    );
    say(`  ${m} commands queued ${((outageUntil - Date.now()) / 1000).toFixed(1)} s before TMO returns`);
    const deadline = outageUntil + Number(argv['timeout-s']) * 1000;
    for (;;) {
      const c = await queue.getJobCounts('completed', 'failed');
      if ((c.completed ?? 0) + (c.failed ?? 0) >= m) break;
      if (Date.now() > deadline) throw new Error(`not drained within ${argv['timeout-s']} s of TMO's return: ${JSON.stringify(c)}`);
      await sleep(200);
    }
    const jobs = await queue.getJobs(['completed'], 0, m);
    const lastSuccess = Math.max(...jobs.map((j) => j.finishedOn ?? 0));
    const failed = await queue.getFailedCount();
    let openingsAfter = 0;
    for (const w of workers) {
      for (const line of readFileSync(w.logFile, 'utf8').split('\n')) {
        if (!line.includes('is now open')) continue;
        const t = (JSON.parse(line) as { time?: number }).time ?? 0;
        if (t > outageUntil) openingsAfter += 1;
      }
    }
    const after = calls.filter((t) => t >= outageUntil);
    say('');
    say(
      table([
        ['commands', 'outage s', 'TMO_MAX_RATE_PER_S', 'workers', 'TMO return → last success s', 'breaker openings after return', 'peak TMO calls/s after return', 'TMO calls after return', 'failed', 'load avg (1 5 15)'],
        [m, outageS, rate, workers.length, ((lastSuccess - outageUntil) / 1000).toFixed(1), openingsAfter, peakPerSecond(after), after.length, failed, loadavg().map((l) => l.toFixed(2)).join(' ')],
      ]),
    );
    say(`floor for the drain: ${after.length} calls at ${rate}/s take at least ${(after.length / rate).toFixed(1)} s`);
  } finally {
    await gw?.close().catch(() => undefined);
    for (const w of workers) await w.stop();
    await legacy.stop();
    await proxy?.close();
    await queue.close().catch(() => undefined);
    await redis.quit().catch(() => undefined);
    await stack.close();
  }
}

async function main(): Promise<void> {
  if (argv.drain) {
    say(`queue drain scenario — ${new Date().toISOString()}, load average before ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    await drain();
    return;
  }
  say(`queue bench — ${new Date().toISOString()}, worker ${ENTRY}${ENTRY.endsWith('.ts') ? ' under tsx' : ' on plain node'} at LOG_LEVEL=${argv['log-level']}, warm-up ≥ ${WARMUP} commands, M=${M} terminal status changes per run, submit concurrency ${SUBMIT_CONCURRENCY}, load average before ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const results: Result[] = [];
  for (const c of LEVELS) {
    const r = await runOnce(c);
    say(`  WORKER_CONCURRENCY=${c}: ${r.perSecond.toFixed(0)} commands/s`);
    results.push(r);
  }
  say('');
  say(
    table([
      ['WORKER_CONCURRENCY', 'commands/s', 'Redis cmds/command', 'worker CPU µs/command', 'Redis CPU µs/command', 'simulators CPU µs/command', 'submitter CPU µs/command', 'BullMQ floor jobs/s', 'floor Redis cmds/job', 'floor CPU µs/job', 'submit/s', 'p50 ms', 'p99 ms', 'max ms', 'idle p50 ms', 'succeeded', 'failed', 'wall s', 'load avg (1 5 15)'],
      ...results.map((r) => [
        r.concurrency,
        Math.round(r.perSecond),
        r.redisPerCommand.toFixed(1),
        Math.round(r.cpuUsPerCommand),
        Math.round(r.redisCpuUsPerCommand),
        Math.round(r.legacyCpuUsPerCommand),
        Math.round(r.submitCpuUsPerCommand),
        Math.round(r.floor.perSecond),
        r.floor.redisPerJob.toFixed(1),
        Math.round(r.floor.cpuUsPerJob),
        Math.round(r.submitPerSecond),
        r.p50,
        r.p99,
        r.max,
        r.idleP50,
        r.succeeded,
        r.failed,
        r.seconds.toFixed(1),
        r.load,
      ]),
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
