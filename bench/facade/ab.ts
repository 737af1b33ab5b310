/**
 * Before/after of a gateway change on a shared machine (bench/facade/README.md): two gateway
 * checkouts run at the same time against one TMO simulator, and short load bursts alternate
 * between them (A, B, A, B, …), so both see the same machine load; each burst's CPU per
 * request comes from the gateway's own `process.cpuUsage()`. Prints every pair and the median
 * of the per-pair ratios B/A — the steady figure when other work makes req/s meaningless.
 *
 *   npx tsx bench/facade/ab.ts --a . --b /tmp/base [--pairs 12] [--burst 3] [--warmup 16]
 *                              [--connections 20] [--rate N] [--log-level info]
 *                              [--node-args='…'] [--a-node-args='…'] [--b-node-args='…']
 *                              [--a-entry dist/main.js] [--b-entry dist/main.js]
 *
 * `--a` / `--b`: gateway checkouts (each with its node_modules), e.g. this one and
 * `git archive main | tar -x -C /tmp/base` with `node_modules` linked. `--warmup`: seconds of
 * load per gateway before measuring, in bursts alternating the same way (V8 optimizes the
 * gateway's code for ~10 s of load; that is start-up, not per-request cost). `--node-args`: extra
 * `node` flags for both gateways (space separated); `--a-node-args` / `--b-node-args` for one side
 * only, after the common ones — so A and B can be the same copy with different flags, e.g.
 * `--a . --b . --b-node-args=--max-semi-space-size=32`. The summary also gives each gateway's
 * resident set after the last burst and its peak. `--a-entry` / `--b-entry`: the entry point in that
 * checkout, `src/main.ts` (under tsx, as `npm start` runs it) unless given; a `.js` entry such as
 * `dist/main.js` (what the image runs) runs on plain node; it must be built first (`npm run build` in
 * that checkout: the bench refuses a missing one and warns about one older than the checkout's
 * `src/`, `bench/support/gateway-entry.ts`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../src/api/auth/dev-keys.ts';
import { alternatePairs, median } from '../support/ab-pairs.ts';
import { gatewayBenchEnv } from '../support/gateway-env.ts';
import { DEFAULT_GATEWAY_ENTRY, gatewayEntryArgs } from '../support/gateway-entry.ts';
import { rs256BenchToken } from '../support/rs256-token.ts';
import { freePort, startPrivateRedis } from '../../src/infra/redis-server.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CPU_PROBE = join(ROOT, 'bench/support/cpu-probe.mjs');

const { values: args } = parseArgs({
  options: {
    a: { type: 'string', default: '.' },
    b: { type: 'string' },
    pairs: { type: 'string', default: '12' },
    burst: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '16' },
    connections: { type: 'string', default: '20' },
    rate: { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
    'node-args': { type: 'string', default: '' },
    'a-node-args': { type: 'string', default: '' },
    'b-node-args': { type: 'string', default: '' },
    'a-entry': { type: 'string' },
    'b-entry': { type: 'string' },
  },
});
if (!args.b) throw new Error('--b <checkout> is required');
const roots = { A: resolve(args.a ?? '.'), B: resolve(args.b) };
const pairs = Number(args.pairs);
const burst = Number(args.burst);
const warmup = Number(args.warmup);
const connections = Number(args.connections);
const rate = args.rate === undefined ? undefined : Number(args.rate);
const words = (s: string | undefined) => (s ?? '').split(' ').filter(Boolean);
const nodeArgs = {
  A: [...words(args['node-args']), ...words(args['a-node-args'])],
  B: [...words(args['node-args']), ...words(args['b-node-args'])],
};
/** `src/main.ts` runs under tsx (what `npm start` does); a `.js` entry such as `dist/main.js` (what the image runs) on plain node, and must be built */
const entryArgs = {
  A: gatewayEntryArgs(roots.A, args['a-entry'] ?? DEFAULT_GATEWAY_ENTRY),
  B: gatewayEntryArgs(roots.B, args['b-entry'] ?? DEFAULT_GATEWAY_ENTRY),
};

const children = new Set<ChildProcess>();
const workDir = mkdtempSync(join(tmpdir(), 'lgw-ab-'));
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(workDir, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

type Probe = { cpu: NodeJS.CpuUsage; rss?: number; maxRss?: number };
/** A child's own process.cpuUsage() and memory (bench/support/cpu-probe.mjs over IPC). */
function probe(child: ChildProcess): Promise<Probe | undefined> {
  return new Promise((done) => {
    const timer = setTimeout(() => done(undefined), 2000);
    child.once('message', (msg) => {
      clearTimeout(timer);
      done(msg as Probe);
    });
    child.send('cpu');
  });
}
/** A child's own process.cpuUsage() total, µs. */
async function cpuUs(child: ChildProcess): Promise<number> {
  const p = await probe(child);
  return p ? p.cpu.user + p.cpu.system : NaN;
}

const sims = track(spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/support/legacy-process.ts')], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] }));
const simInfo = await new Promise<{ tmoUrl: string; crmUrl: string; tid: string }>((ok, fail) => {
  let buf = '';
  sims.stdout?.on('data', (b: Buffer) => {
    buf += b.toString();
    if (buf.includes('\n')) ok(JSON.parse(buf.slice(0, buf.indexOf('\n'))) as { tmoUrl: string; crmUrl: string; tid: string });
  });
  sims.once('exit', () => fail(new Error('simulators exited')));
});

const redis = await startPrivateRedis();
process.on('exit', () => void redis.stop());
const { jwksFile, token } = await rs256BenchToken(workDir, 'ab');

async function startGateway(label: 'A' | 'B'): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const out = openSync(join(workDir, `gateway-${label}.log`), 'w');
  const child = track(
    spawn(process.execPath, [...nodeArgs[label], '--import', CPU_PROBE, ...entryArgs[label]], {
      cwd: roots[label],
      stdio: ['ignore', out, 'inherit', 'ipc'],
      env: gatewayBenchEnv({
        port,
        logLevel: args['log-level'],
        tmoUrl: simInfo.tmoUrl,
        crmUrl: simInfo.crmUrl,
        jwksFile,
        issuer: DEV_ISSUER,
        audience: DEV_AUDIENCE,
        redisUrl: redis.url,
        // each gateway its own keys on the shared private Redis
        redisKeyPrefix: `ab${label}`,
        devDataDir: join(workDir, `dev-${label}`),
      }),
    }),
  );
  closeSync(out);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`gateway ${label} exited (${child.exitCode})`);
    if (await fetch(`${url}/health/live`).then((r) => r.ok, () => false)) break;
    if (i > 600) throw new Error(`gateway ${label} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const probe = await fetch(`${url}/v1/terminals/${simInfo.tid}`, { headers: { Authorization: `Bearer ${token}` } });
  if (probe.status !== 200) throw new Error(`gateway ${label} answered ${probe.status}`);
  return { url, child };
}

const gw = { A: await startGateway('A'), B: await startGateway('B') };

async function load(label: 'A' | 'B', seconds: number): Promise<{ rps: number; us: number }> {
  const { url, child } = gw[label];
  const c0 = await cpuUs(child);
  let ok = 0;
  const started = performance.now();
  await new Promise<void>((done, fail) => {
    const inst = autocannon(
      { url: `${url}/v1/terminals/${simInfo.tid}`, headers: { Authorization: `Bearer ${token}` }, connections, duration: seconds, ...(rate === undefined ? {} : { overallRate: rate }) },
      (err) => (err ? fail(err as Error) : done()),
    );
    inst.on('response', (_c, status) => {
      if (status >= 200 && status < 300) ok += 1;
      else throw new Error(`gateway ${label} answered ${status}`);
    });
  });
  const elapsed = (performance.now() - started) / 1000;
  const c1 = await cpuUs(child);
  return { rps: ok / elapsed, us: (c1 - c0) / Math.max(1, ok) };
}

console.error(`# A ${roots.A} ${nodeArgs.A.join(' ')}\n# B ${roots.B} ${nodeArgs.B.join(' ')}\n# ${cpus().length}× ${cpus()[0]?.model ?? '?'}, node ${process.version}, loadavg ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (let t = 0; t < warmup; t += burst) {
  await load('A', burst);
  await load('B', burst);
}
// alternating which goes first, so neither always follows the other
const rows = (
  await alternatePairs(['A', 'B'] as const, pairs, (side) => load(side, burst), ({ A: a, B: b }, i) =>
    console.error(`  pair ${i + 1}: A ${a.us.toFixed(0)} µs/req (${a.rps.toFixed(0)} req/s)   B ${b.us.toFixed(0)} µs/req (${b.rps.toFixed(0)} req/s)   B/A ${(b.us / a.us).toFixed(2)}`),
  )
).map(({ A: a, B: b }) => ({ a, b }));
const ratios = rows.map((r) => r.b.us / r.a.us);
const mem = { A: await probe(gw.A.child), B: await probe(gw.B.child) };
const mib = (p: Probe | undefined) => (p?.rss === undefined ? '?' : `${(p.rss / 2 ** 20).toFixed(0)} MiB (peak ${((p.maxRss ?? NaN) / 1024).toFixed(0)})`);
console.log(
  `${new Date().toISOString()} loadavg ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${pairs} pairs of ${burst} s bursts, ${connections} connections${rate === undefined ? '' : ` at ${rate} req/s`}, LOG_LEVEL=${args['log-level']}, ${warmup} s warm-up each\n` +
    `gateway CPU µs/request, median: A ${median(rows.map((r) => r.a.us)).toFixed(0)} (lowest ${Math.min(...rows.map((r) => r.a.us)).toFixed(0)}), ` +
    `B ${median(rows.map((r) => r.b.us)).toFixed(0)} (lowest ${Math.min(...rows.map((r) => r.b.us)).toFixed(0)}); B/A per pair, median ${median(ratios).toFixed(2)} ` +
    `(${ratios.map((x) => x.toFixed(2)).join(' ')}); req/s median A ${median(rows.map((r) => r.a.rps)).toFixed(0)}, B ${median(rows.map((r) => r.b.rps)).toFixed(0)}; ` +
    `RSS A ${mib(mem.A)}, B ${mib(mem.B)}`,
);
process.exit(0);
