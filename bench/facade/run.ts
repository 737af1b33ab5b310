/**
 * Facade benchmark (bench/facade/README.md): requests/s, p50 and p99 of `GET /v1/terminals/{id}`
 * through the gateway versus a bare Node proxy doing the same call with nothing else
 * (`bench/support/bare-proxy-process.ts`: the floor for any Node gateway) and versus the same
 * SOAP `GetTerminal` POSTed directly to the legacy back end, at the same concurrency, side by
 * side in one run. The headline is `gateway/bare` (req/s ratio) with the p99 the gateway adds
 * over the bare proxy and the CPU per request of both proxies (their own `process.cpuUsage()`,
 * read over IPC through `bench/support/cpu-probe.mjs`). The gateway verifies an RS256 token
 * from a JWKS file, at its default LOG_LEVEL=info unless `--log-levels` says otherwise.
 *
 * Two back ends, each in its own process: the TMO simulator (node-soap decoding: slow, which
 * flatters the ratio) and a canned-response `node:http` stub that replays the simulator's
 * recorded reply byte for byte (the gateway's own cost in full view). The gateway runs as its
 * own process (`src/main.ts`, connected mode, private redis-server), like in production.
 * Latency percentiles come from every response's own timing (autocannon's histogram has 1 ms
 * resolution, too coarse for a 3 ms budget). CPU per request is read from /proc for the gateway
 * and the back end: unlike req/s it barely moves when other work loads the machine.
 *
 *   npm run bench:facade -- [--paired 8] [--burst 3] | [--rounds 3] [--duration 8]
 *                           [--connections 20] [--warmup 2] [--gateway-warmup 12]
 *                           [--log-levels info] [--backends sim,stub] [--entry src/main.ts]
 *                           [--cpu-prof DIR] [--baseline DIR] [--rate N] [--node-args=--perf-basic-prof]
 *
 * Two modes. **Paired** (the default, `--paired N`, N = 8): after the warm-ups, N pairs of
 * `--burst` seconds each of direct SOAP, the bare proxy and the gateway, the order reversed
 * every other pair (so the bare proxy always runs right next to the gateway), all three
 * processes up throughout; the headline is the median of the per-pair ratios and p99
 * differences, so that both sides of each ratio saw the same machine (on a shared VM the
 * machine's speed moves within tens of seconds). **Rounds** (`--rounds N`, or `--paired 0`):
 * each round measures direct SOAP, then the bare proxy, then a fresh gateway, `--duration`
 * seconds each; the headline is the median of the per-round ratios.
 * `--entry`: the gateway's entry point in its checkout: `src/main.ts` under tsx (the default,
 * as `npm start` runs it) or `dist/main.js` on plain node (what the image runs; run `npm run
 * build` first: the bench refuses a missing build and warns about a stale one).
 *
 * `--baseline DIR` (rounds mode): another checkout of the gateway (e.g. `git worktree add /tmp/base main` or
 * `git archive main | tar -x -C /tmp/base`, with its node_modules) whose `src/main.ts` runs as
 * a second gateway in every round, right after this one, against the same back end: the
 * before/after of a change, side by side under the same machine load (row `gateway (baseline)`).
 * `--rate N`: N requests/s in all (autocannon's overallRate) instead of as fast as it goes:
 * on a machine shared with other work, CPU per request at the same fixed rate is the steadier
 * before/after figure (req/s and the ratios then only say the rate was held).
 * `--node-args`: extra flags for the gateway's `node` (space separated), e.g. `--perf-basic-prof`
 * so that `perf record -p <pid>` names JS frames; each gateway's pid is printed when it starts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { createSoapClient } from '../../src/adapters/soap/client.ts';
import { alternatePairs, median } from '../support/ab-pairs.ts';
import { DEFAULT_GATEWAY_ENTRY, gatewayEntryArgs } from '../support/gateway-entry.ts';
import { warmUntilSettled } from '../support/warm-up.ts';
import { freePort, startPrivateRedis, type PrivateRedis } from '../../src/infra/redis-server.ts';
import { recordReply, type CannedReplies } from '../support/soap-stub.ts';
import { BENCH_LEGACY_CREDENTIALS, gatewayBenchEnv } from '../support/gateway-env.ts';
import { rs256BenchToken } from '../support/rs256-token.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TMO_WSDL = join(ROOT, 'fixtures/tmo/TerminalManagement.wsdl');
const CPU_PROBE = join(ROOT, 'bench/support/cpu-probe.mjs');
// The simulators' default credentials (src/simulators): the gateway logs in with them.
const LEGACY = BENCH_LEGACY_CREDENTIALS;
const BASIC = `Basic ${Buffer.from(`${LEGACY.username}:${LEGACY.password}`).toString('base64')}`;

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '20' },
    // rounds mode: seconds per measurement (paired mode measures in --burst seconds)
    duration: { type: 'string' },
    warmup: { type: 'string', default: '2' },
    // the gateway's code is large: V8 is still optimizing it (TurboFan on its helper threads,
    // counted in the process's CPU) for ~10 s of load, the bare proxy's after a few ms
    'gateway-warmup': { type: 'string', default: '12' },
    'log-levels': { type: 'string', default: 'info' },
    backends: { type: 'string', default: 'sim' },
    // rounds mode (also selected by --paired 0)
    rounds: { type: 'string' },
    // paired mode (the default): N pairs of bursts alternating bare proxy and gateway
    paired: { type: 'string' },
    burst: { type: 'string', default: '3' },
    entry: { type: 'string', default: DEFAULT_GATEWAY_ENTRY },
    'cpu-prof': { type: 'string' },
    baseline: { type: 'string' },
    rate: { type: 'string' },
    'node-args': { type: 'string', default: '' },
  },
});
const connections = Number(args.connections);
if (args.paired !== undefined && args.rounds !== undefined) throw new Error('--paired and --rounds exclude each other: --paired N alternates bursts, --rounds N measures one after the other');
/** 0: rounds mode */
const pairs = args.rounds !== undefined ? 0 : Number(args.paired ?? '8');
if (!Number.isInteger(pairs) || pairs < 0 || pairs > 10_000) throw new Error('--paired must be a whole number of pairs (0: rounds mode)');
if (pairs > 0 && args.duration !== undefined) throw new Error('--duration is for rounds mode (--rounds N); paired mode measures --burst seconds at a time');
if (pairs > 0 && args.baseline !== undefined) throw new Error('--baseline is for rounds mode (--rounds N); for a before/after side by side use bench/facade/ab.ts');
const duration = Number(args.duration ?? '8');
const burst = Number(args.burst);
const warmup = Number(args.warmup);
const gatewayWarmup = Number(args['gateway-warmup']);
const rounds = Number(args.rounds ?? '3');
/** `node` arguments that run each gateway checkout's `--entry` (checked now: a missing build fails before anything starts) */
const entryArgs = new Map<string, string[]>();
for (const root of [ROOT, ...(args.baseline ? [args.baseline] : [])]) entryArgs.set(root, gatewayEntryArgs(root, args.entry ?? DEFAULT_GATEWAY_ENTRY));
const rate = args.rate === undefined ? undefined : Number(args.rate);
if (rate !== undefined && !(Number.isFinite(rate) && rate >= 1)) throw new Error('--rate must be a positive number of requests/s');
const logLevels = (args['log-levels'] ?? 'info').split(',').filter(Boolean);
const backends = (args.backends ?? 'sim').split(',').filter((b): b is 'stub' | 'sim' => b === 'stub' || b === 'sim');
for (const [name, v] of [['connections', connections], ['duration', duration], ['burst', burst], ['warmup', warmup], ['gateway-warmup', gatewayWarmup], ['rounds', rounds]] as const) {
  if (!Number.isFinite(v) || v < 0 || (!name.endsWith('warmup') && v < 1) || v > 10_000) throw new Error(`--${name} must be a positive number`);
}

// ------------------------------------------------------------------------------------------
// Children: every one is killed on exit, whatever happens.

const children = new Set<ChildProcess>();
const cleanups: Array<() => Promise<unknown> | unknown> = [];
let exiting = false;
async function cleanupAll(): Promise<void> {
  if (exiting) return;
  exiting = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  for (const step of cleanups.reverse()) await Promise.resolve().then(step).catch(() => undefined);
}
process.on('SIGINT', () => void cleanupAll().then(() => process.exit(130)));
process.on('SIGTERM', () => void cleanupAll().then(() => process.exit(143)));
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

/** Spawns a TypeScript entry point under tsx; resolves with its first stdout line as JSON. */
async function spawnTs<T>(entry: string, argv: string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<{ child: ChildProcess; info: T }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', CPU_PROBE, join(ROOT, entry), ...argv], {
    cwd: ROOT,
    env,
    stdio: ['pipe', 'pipe', 'inherit', 'ipc'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const info = await new Promise<T>((resolve, reject) => {
    let buf = '';
    const onData = (b: Buffer) => {
      buf += b.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      child.stdout?.off('data', onData);
      child.stdout?.resume();
      try {
        resolve(JSON.parse(buf.slice(0, nl)) as T);
      } catch (err) {
        reject(err as Error);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${entry} exited early (${String(code)})`)));
  });
  return { child, info };
}

/** utime+stime of a process in ms (Linux /proc; 0 elsewhere). */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11], fields[12] = utime, stime (fields 14 and 15 of proc(5)), in clock ticks (100/s on Linux)
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

/** A child's own `process.cpuUsage()` total in µs, asked over IPC (bench/support/cpu-probe.mjs). */
function childCpuUs(child: ChildProcess | undefined): Promise<number> {
  if (!child?.connected) return Promise.resolve(NaN);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      resolve(NaN);
    }, 2000);
    const onMessage = (msg: unknown) => {
      const cpu = (msg as { cpu?: NodeJS.CpuUsage }).cpu;
      if (!cpu) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(cpu.user + cpu.system);
    };
    child.on('message', onMessage);
    child.send('cpu');
  });
}

// ------------------------------------------------------------------------------------------
// Load

interface Measured {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU ms per 1000 requests = µs per request, per watched process (/proc) */
  cpuUsPerReq: number[];
  /** the proxy's (gateway's or bare proxy's) own process.cpuUsage() per request, µs */
  proxyUsPerReq: number;
  /** this process's (autocannon's) CPU per request, µs: on 2 cores the load generator competes too */
  loadGenUsPerReq: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number;
}

async function load(opts: autocannon.Options, seconds: number, watch: Array<number | undefined>, proxy?: ChildProcess): Promise<Measured> {
  const latencies: number[] = [];
  let bad = 0;
  const proxy0 = await childCpuUs(proxy);
  const cpu0 = watch.map(cpuMs);
  const self0 = process.cpuUsage();
  const started = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({ ...opts, connections, duration: seconds, pipelining: 1, ...(rate === undefined ? {} : { overallRate: rate }) }, (err, res) => (err ? reject(err as Error) : resolve(res)));
    // (client, statusCode, resBytes, responseTime in ms as a float)
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) latencies.push(ms);
      else bad += 1;
    });
  });
  const elapsed = (performance.now() - started) / 1000;
  const cpu1 = watch.map(cpuMs);
  const self = process.cpuUsage(self0);
  const proxy1 = await childCpuUs(proxy);
  const sorted = Float64Array.from(latencies).sort();
  return {
    rps: latencies.length / elapsed,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    errors: bad + result.errors + result.timeouts,
    cpuUsPerReq: watch.map((_, i) => ((cpu1[i] as number) - (cpu0[i] as number)) / Math.max(1, latencies.length) * 1000),
    loadGenUsPerReq: (self.user + self.system) / Math.max(1, latencies.length),
    proxyUsPerReq: (proxy1 - proxy0) / Math.max(1, latencies.length),
  };
}

async function measure(opts: autocannon.Options, watch: Array<number | undefined>, proxy?: ChildProcess, warmupS = warmup): Promise<Measured> {
  if (warmupS > 0) await load(opts, warmupS, []);
  return load(opts, duration, watch, proxy);
}

// ------------------------------------------------------------------------------------------
// Set-up

const workDir = mkdtempSync(join(tmpdir(), 'lgw-facade-'));
cleanups.push(() => rmSync(workDir, { recursive: true, force: true }));

const sims = await spawnTs<{ tmoUrl: string; crmUrl: string; tid: string; mid: string }>('bench/support/legacy-process.ts');
const { tmoUrl, crmUrl, tid, mid } = sims.info;

// The exact envelopes the gateway sends (same lean client, same WSDL).
const lean = await createSoapClient({ system: 'tmo', wsdlPath: TMO_WSDL, endpoint: tmoUrl, timeoutMs: 5000, maxSockets: 1 });
const getTerminal = lean.envelope('GetTerminal', { TID: tid });
const getMerchant = lean.envelope('GetMerchant', { MID: mid });
lean.close();
const soapHeaders = (action: string) => ({ 'Content-Type': 'text/xml; charset=utf-8', Accept: 'text/xml', SOAPAction: `"${action}"`, Authorization: BASIC });

// Record the simulator's replies for the stub: GetTerminal, and GetMerchant (the gateway
// resolves a terminal's merchant once, then caches the link).
const replies: CannedReplies = {
  GetTerminal: await recordReply(tmoUrl, getTerminal, soapHeaders('GetTerminal')),
  GetMerchant: await recordReply(tmoUrl, getMerchant, soapHeaders('GetMerchant')),
};
for (const [op, r] of Object.entries(replies)) {
  const body = Buffer.from(r.bodyBase64, 'base64').toString();
  if (r.status !== 200 || !body.includes('<RETURN_CODE>00</RETURN_CODE>')) throw new Error(`${op} did not succeed on the simulator: ${r.status}`);
}
const repliesFile = join(workDir, 'replies.json');
writeFileSync(repliesFile, JSON.stringify(replies));
const stub = await spawnTs<{ url: string }>('bench/support/soap-stub-process.ts', [repliesFile]);

// The bare proxy, one per back end, sending the gateway's own envelope as a string template.
const TID_SLOT = 'TIDSLOT0';
const bareEnvelope = getTerminal.replace(tid, TID_SLOT).replace(TID_SLOT, '@@TID@@');
const bareEnv = (url: string): NodeJS.ProcessEnv => ({ ...process.env, TMO_URL: url, TMO_USERNAME: LEGACY.username, TMO_PASSWORD: LEGACY.password, BARE_ENVELOPE: bareEnvelope });
const bare = {
  sim: await spawnTs<{ url: string }>('bench/support/bare-proxy-process.ts', [], bareEnv(tmoUrl)),
  stub: await spawnTs<{ url: string }>('bench/support/bare-proxy-process.ts', [], bareEnv(stub.info.url)),
};

const redis: PrivateRedis = await startPrivateRedis();
cleanups.push(() => redis.stop());
const { token, ...keys } = await rs256BenchToken(workDir, 'bench-rs256');

interface GatewayProcess {
  url: string;
  child: ChildProcess;
  logFile: string;
  stop(): Promise<void>;
}

async function startGatewayProcess(backendUrl: string, logLevel: string, label: string, root = ROOT): Promise<GatewayProcess> {
  const port = await freePort();
  const logFile = join(workDir, `gateway-${label}.log`);
  const out = openSync(logFile, 'w');
  const profDir = args['cpu-prof'];
  const nodeArgs = [...(args['node-args'] ?? '').split(' ').filter(Boolean), '--import', CPU_PROBE, ...(profDir ? ['--cpu-prof', '--cpu-prof-dir', join(profDir, label)] : [])];
  const child = spawn(process.execPath, [...nodeArgs, ...(entryArgs.get(root) ?? [])], {
    cwd: root,
    stdio: ['ignore', out, 'inherit', 'ipc'],
    env: gatewayBenchEnv({
      port,
      logLevel,
      tmoUrl: backendUrl,
      crmUrl,
      jwksFile: keys.jwksFile,
      issuer: keys.issuer,
      audience: keys.audience,
      redisUrl: redis.url,
      devDataDir: join(workDir, 'dev'),
    }),
  });
  closeSync(out);
  children.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => children.delete(child));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`gateway exited (${child.exitCode}); see ${logFile}`);
    const ok = await fetch(`${url}/health/live`).then((r) => r.ok, () => false);
    if (ok) break;
    if (i > 300) throw new Error('gateway did not start in 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  // One call first: proves the path works and fills the merchant-link cache.
  const probe = await fetch(`${url}/v1/terminals/${tid}`, { headers: { Authorization: `Bearer ${token}` } });
  const probeBody = await probe.text();
  if (probe.status !== 200) throw new Error(`gateway answered ${probe.status}: ${probeBody.slice(0, 300)}`);
  console.log(`  gateway ${label} started: pid ${child.pid}`);
  return {
    url,
    child,
    logFile,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

// ------------------------------------------------------------------------------------------
// Runs

interface Row {
  /** which rows compare with each other: the back end (rounds mode) or back end and log level (paired mode, one set of pairs each) */
  set: string;
  backend: 'stub' | 'sim';
  path: string;
  logLevel: string;
  m: Measured;
}
const rows: Row[] = [];
// this checkout's gateway, then (with --baseline) the other checkout's, alternating in each round
const gatewayRoots: Array<[string, string]> = [['gateway', ROOT], ...(args.baseline ? [['gateway (baseline)', args.baseline] as [string, string]] : [])];
const load0 = loadavg();
const backendPid = { sim: sims.child.pid, stub: stub.child.pid };
const backendUrl = { sim: tmoUrl, stub: stub.info.url };
const directLoad = (backend: 'stub' | 'sim'): autocannon.Options => ({ url: backendUrl[backend], method: 'POST', headers: soapHeaders('GetTerminal'), body: getTerminal });
const bareLoad = (backend: 'stub' | 'sim'): autocannon.Options => ({ url: `${bare[backend].info.url}/v1/terminals/${tid}`, method: 'GET' });
const gatewayLoad = (gw: GatewayProcess): autocannon.Options => ({ url: `${gw.url}/v1/terminals/${tid}`, method: 'GET', headers: { Authorization: `Bearer ${token}` } });

console.error(`# ${new Date().toISOString()}  ${cpus().length}× ${cpus()[0]?.model ?? '?'}  node ${process.version}`);
console.error(
  pairs > 0
    ? `# ${connections} connections${rate === undefined ? '' : ` at ${rate} req/s`}, ${warmup}s warm-up (gateway ≥ ${gatewayWarmup}s, until its CPU/request stops falling), then ${pairs} pairs of ${burst}s bursts (direct SOAP, bare proxy, gateway; reversed every other pair); gateway ${args.entry}; loadavg ${load0.map((l) => l.toFixed(2)).join(' ')}`
    : `# ${connections} connections${rate === undefined ? '' : ` at ${rate} req/s`}, ${warmup}s warm-up (gateway ${gatewayWarmup}s) + ${duration}s per run, ${rounds} round(s); gateway ${args.entry}; loadavg ${load0.map((l) => l.toFixed(2)).join(' ')}`,
);

/**
 * The gateway's warm-up in paired mode: at least `--gateway-warmup` s of load in `--burst` s
 * bursts, then on while its CPU per request still falls (a burst 10 % below every one before
 * it), at most 60 s more: on a loaded machine V8 takes longer to optimize the gateway's code,
 * and pairs measured before that would charge it JIT warm-up. Answers each burst's CPU µs/request.
 */
async function warmGateway(opts: autocannon.Options, gw: GatewayProcess): Promise<number[]> {
  if (gatewayWarmup <= 0) return [];
  return warmUntilSettled(async () => (await load(opts, burst, [], gw.child)).proxyUsPerReq, { chunk: burst, min: gatewayWarmup, max: gatewayWarmup + 60 });
}

const PAIRED_SIDES = ['direct', 'bare', 'gateway'] as const;
const PAIRED_PATH = { direct: 'direct SOAP', bare: 'bare proxy', gateway: 'gateway' } as const;

if (pairs > 0) {
  // Paired mode: one gateway per back end and log level, up beside the bare proxy throughout.
  for (const backend of backends) {
    for (const level of logLevels) {
      const gw = await startGatewayProcess(backendUrl[backend], level, `${backend}-${level}`);
      try {
        const side = {
          direct: { opts: directLoad(backend), watch: [backendPid[backend]], proxy: undefined },
          bare: { opts: bareLoad(backend), watch: [bare[backend].child.pid, backendPid[backend]], proxy: bare[backend].child },
          gateway: { opts: gatewayLoad(gw), watch: [gw.child.pid, backendPid[backend]], proxy: gw.child },
        };
        // the warm-ups as in rounds mode, the gateway's (V8 still optimizing its code) right before the pairs
        for (const k of ['direct', 'bare'] as const) if (warmup > 0) await load(side[k].opts, warmup, []);
        const warm = await warmGateway(side.gateway.opts, gw);
        console.error(`  ${backend} ${level} gateway warm-up, CPU µs/req per ${burst}s burst: ${warm.map((x) => x.toFixed(0)).join(' ')}`);
        const results = await alternatePairs(
          PAIRED_SIDES,
          pairs,
          (k) => load(side[k].opts, burst, side[k].watch, side[k].proxy),
          (r, i) =>
            console.error(
              `  ${backend} ${level} pair ${i + 1}: direct ${r.direct.rps.toFixed(0)} req/s; bare ${r.bare.rps.toFixed(0)} req/s, ${r.bare.proxyUsPerReq.toFixed(0)} µs CPU/req; ` +
                `gateway ${r.gateway.rps.toFixed(0)} req/s, ${r.gateway.proxyUsPerReq.toFixed(0)} µs CPU/req; gateway/bare ${(r.gateway.rps / r.bare.rps).toFixed(2)}`,
            ),
        );
        for (const r of results) {
          for (const k of PAIRED_SIDES) rows.push({ set: `${backend}|${level}`, backend, path: PAIRED_PATH[k], logLevel: k === 'gateway' ? level : '-', m: r[k] });
        }
      } finally {
        await gw.stop();
      }
    }
  }
} else {
  for (let round = 0; round < rounds; round++) {
    for (const backend of backends) {
      const direct = await measure(directLoad(backend), [backendPid[backend]]);
      rows.push({ set: backend, backend, path: 'direct SOAP', logLevel: '-', m: direct });
      console.error(`  ${backend} direct: ${direct.rps.toFixed(0)} req/s`);
      const b = await measure(bareLoad(backend), [bare[backend].child.pid, backendPid[backend]], bare[backend].child);
      rows.push({ set: backend, backend, path: 'bare proxy', logLevel: '-', m: b });
      console.error(`  ${backend} bare proxy: ${b.rps.toFixed(0)} req/s, ${b.proxyUsPerReq.toFixed(0)} µs CPU/req`);
      for (const level of logLevels) {
        for (const [path, root] of gatewayRoots) {
          const gw = await startGatewayProcess(backendUrl[backend], level, `${backend}-${level}-${round}${root === ROOT ? '' : '-baseline'}`, root);
          try {
            const m = await measure(gatewayLoad(gw), [gw.child.pid, backendPid[backend]], gw.child, gatewayWarmup);
            rows.push({ set: backend, backend, path, logLevel: level, m });
            console.error(`  ${backend} ${path} (${level}): ${m.rps.toFixed(0)} req/s, ${m.proxyUsPerReq.toFixed(0)} µs CPU/req`);
          } finally {
            await gw.stop();
          }
        }
      }
    }
  }
}
const load1 = loadavg();

// ------------------------------------------------------------------------------------------
// Report: medians over rounds, or over pairs (ratios and differences: the median of the per-pair ones)

const groups = new Map<string, Row[]>();
for (const r of rows) {
  const key = `${r.set}|${r.path}|${r.logLevel}`;
  groups.set(key, [...(groups.get(key) ?? []), r]);
}
const summary = [...groups.values()].map((g) => {
  const first = g[0] as Row;
  return {
    set: first.set,
    backend: first.backend,
    path: first.path,
    logLevel: first.logLevel,
    rps: median(g.map((r) => r.m.rps)),
    p50: median(g.map((r) => r.m.p50)),
    p99: median(g.map((r) => r.m.p99)),
    errors: g.reduce((n, r) => n + r.m.errors, 0),
    proxyCpu: first.path === 'direct SOAP' ? NaN : median(g.map((r) => r.m.proxyUsPerReq)),
    beCpu: median(g.map((r) => r.m.cpuUsPerReq[first.path === 'direct SOAP' ? 0 : 1] ?? NaN)),
    /** per round (or pair), for the ratios */
    rpsByRound: g.map((r) => r.m.rps),
    p99ByRound: g.map((r) => r.m.p99),
    proxyCpuByRound: g.map((r) => r.m.proxyUsPerReq),
    genCpu: median(g.map((r) => r.m.loadGenUsPerReq)),
  };
});
type Summary = (typeof summary)[number];
/** x's figure over y's, per round or pair */
const perRound = (x: number[], y: number[], f: (a: number, b: number) => number) => x.map((v, i) => f(v, y[i] ?? NaN));
const ratio = (a: number, b: number) => a / b;
const minus = (a: number, b: number) => a - b;
const backendName = (s: Summary) => (s.backend === 'sim' ? 'TMO simulator' : 'canned stub');

const fmt = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : '-');
/** a Markdown table, columns padded to their widest cell */
function table(header: string[], lines: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const row = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [row(header), row(widths.map((w) => '-'.repeat(w))), ...lines.map(row)].join('\n');
}
const header = ['back end', 'path', 'log', 'req/s', 'p50 ms', 'p99 ms', 'vs bare', '+p99 ms vs bare', 'vs direct', 'proxy CPU µs/req', 'back-end CPU µs/req', 'autocannon CPU µs/req', 'errors'];
const lines: string[][] = [];
for (const s of summary) {
  const direct = summary.find((d) => d.set === s.set && d.path === 'direct SOAP');
  const bareRow = summary.find((d) => d.set === s.set && d.path === 'bare proxy');
  const isGw = s.path.startsWith('gateway');
  // rounds: ratio of the medians (as always); pairs: median of the per-pair ratios and differences
  const vs = (other: Summary, f: typeof ratio, of: (x: Summary) => number[], med: (x: Summary) => number) =>
    pairs > 0 ? median(perRound(of(s), of(other), f)) : f(med(s), med(other));
  lines.push([
    backendName(s),
    s.path,
    s.logLevel,
    fmt(s.rps, 0),
    fmt(s.p50),
    fmt(s.p99),
    isGw && bareRow ? fmt(vs(bareRow, ratio, (x) => x.rpsByRound, (x) => x.rps)) : s.path === 'bare proxy' ? '1.00' : '',
    isGw && bareRow ? fmt(vs(bareRow, minus, (x) => x.p99ByRound, (x) => x.p99)) : '',
    s.path !== 'direct SOAP' && direct ? fmt(vs(direct, ratio, (x) => x.rpsByRound, (x) => x.rps)) : '',
    fmt(s.proxyCpu, 0),
    fmt(s.beCpu, 0),
    fmt(s.genCpu, 0),
    String(s.errors),
  ]);
}
const conditions = `${connections} connections${rate === undefined ? '' : ` at a fixed ${rate} req/s`}`;
console.log(
  `GET /v1/terminals/{id} via the gateway vs a bare Node proxy vs SOAP GetTerminal direct (RS256 token) — ${conditions}, ` +
    (pairs > 0
      ? `${pairs} pairs of ${burst}s bursts alternating direct SOAP, bare proxy and gateway (+${warmup}s warm-up, gateway ≥ ${gatewayWarmup}s), median over the pairs (vs bare, +p99, vs direct: median of the per-pair figures)`
      : `${duration}s (+${warmup}s warm-up, gateway ${gatewayWarmup}s), median of ${rounds} round(s)`) +
    (args.entry === DEFAULT_GATEWAY_ENTRY ? '' : `; gateway ${args.entry} on plain node`),
);
console.log(`${new Date().toISOString()}, ${cpus().length}× ${cpus()[0]?.model ?? '?'}, node ${process.version}, loadavg before ${load0.map((l) => l.toFixed(2)).join(' ')} / after ${load1.map((l) => l.toFixed(2)).join(' ')}`);
console.log(table(header, lines));
for (const s of summary.filter((x) => x.path.startsWith('gateway'))) {
  const bareRow = summary.find((d) => d.set === s.set && d.path === 'bare proxy');
  if (!bareRow) continue;
  const rpsRatio = perRound(s.rpsByRound, bareRow.rpsByRound, ratio);
  const what = `${s.path}/bare (${backendName(s)}, LOG_LEVEL=${s.logLevel})`;
  if (pairs === 0) {
    // Headline: gateway/bare per round (same round = same machine conditions), then the median.
    console.log(
      `${what} = ${fmt(median(rpsRatio))}` +
        ` (per round ${rpsRatio.map((x) => fmt(x)).join(', ')}); +p99 vs bare ${fmt(s.p99 - bareRow.p99)} ms;` +
        ` CPU µs/req gateway ${fmt(s.proxyCpu, 0)} vs bare ${fmt(bareRow.proxyCpu, 0)}` +
        ` (per round ${s.proxyCpuByRound.map((x) => fmt(x, 0)).join(', ')}; lowest ${fmt(Math.min(...s.proxyCpuByRound), 0)} vs ${fmt(Math.min(...bareRow.proxyCpuByRound), 0)})`,
    );
    continue;
  }
  // Paired: every pair, then the medians of the per-pair figures as the headline.
  const direct = summary.find((d) => d.set === s.set && d.path === 'direct SOAP');
  const p99Diff = perRound(s.p99ByRound, bareRow.p99ByRound, minus);
  const cpuRatio = perRound(s.proxyCpuByRound, bareRow.proxyCpuByRound, ratio);
  const range = (xs: number[], d = 2) => `${fmt(Math.min(...xs), d)}${Math.min(...xs) < 0 ? ' to ' : '–'}${fmt(Math.max(...xs), d)}`;
  console.log(`\n${backendName(s)}, LOG_LEVEL=${s.logLevel}, per pair (order direct → bare → gateway, reversed every other pair):`);
  console.log(
    table(
      ['pair', 'direct req/s', 'bare req/s', 'gateway req/s', 'gateway/bare', 'bare p99 ms', 'gateway p99 ms', '+p99 ms', 'bare CPU µs/req', 'gateway CPU µs/req', 'CPU gateway/bare'],
      s.rpsByRound.map((_, i) => [
        `${i + 1}${i % 2 === 0 ? '' : ' (rev.)'}`,
        fmt(direct?.rpsByRound[i] ?? NaN, 0),
        fmt(bareRow.rpsByRound[i] ?? NaN, 0),
        fmt(s.rpsByRound[i] ?? NaN, 0),
        fmt(rpsRatio[i] ?? NaN),
        fmt(bareRow.p99ByRound[i] ?? NaN),
        fmt(s.p99ByRound[i] ?? NaN),
        fmt(p99Diff[i] ?? NaN),
        fmt(bareRow.proxyCpuByRound[i] ?? NaN, 0),
        fmt(s.proxyCpuByRound[i] ?? NaN, 0),
        fmt(cpuRatio[i] ?? NaN),
      ]),
    ),
  );
  console.log(
    `${what} = ${fmt(median(rpsRatio))} (median of ${rpsRatio.length} pairs, range ${range(rpsRatio)});` +
      ` +p99 vs bare ${fmt(median(p99Diff))} ms (median of the per-pair differences, range ${range(p99Diff)});` +
      ` CPU µs/req gateway ${fmt(s.proxyCpu, 0)} vs bare ${fmt(bareRow.proxyCpu, 0)}` +
      ` (per pair gateway/bare median ${fmt(median(cpuRatio))}, range ${range(cpuRatio)}; lowest ${fmt(Math.min(...s.proxyCpuByRound), 0)} vs ${fmt(Math.min(...bareRow.proxyCpuByRound), 0)})`,
  );
}
console.log('Targets (issue 8): gateway/bare ≥ 0.70 and ≤ 3 ms added p99 over the bare proxy at 20 connections.');

await cleanupAll();
process.exit(summary.some((s) => s.errors > 0) ? 1 : 0);
