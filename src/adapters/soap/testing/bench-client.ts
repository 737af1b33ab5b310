// Prints calls/s and latency of GetTerminal against the in-process TMO simulator:
// direct (raw keep-alive POST of a fixed envelope), the lean client, the full TMO adapter
// (breaker, bulkhead, translation) and a node-soap client. Not a timed test.
// Run: npx tsx src/adapters/soap/testing/bench-client.ts [seconds] [concurrency]
// The simulator runs in a child process (bench-sim.ts): on a 2-core box that gives it one core.
import { spawn } from 'node:child_process';
import http from 'node:http';
import soap from 'soap';
import { createSoapClient } from '../client.ts';
import { createTmoAdapter } from '../tmo-adapter.ts';
import { DEV, tmoOptions, TMO_WSDL } from './options.ts';

const seconds = Number(process.argv[2] ?? 5);
const concurrency = Number(process.argv[3] ?? 32);

async function measure(name: string, call: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 500; i += 1) await call(); // warm-up
  const latencies: number[] = [];
  let done = 0;
  const cpu0 = process.cpuUsage();
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const t = performance.now();
        await call();
        latencies.push(performance.now() - t);
        done += 1;
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => (latencies[Math.floor(latencies.length * p)] ?? 0).toFixed(2);
  const rate = done / seconds;
  // Client-side CPU per call: robust to a busy machine, unlike calls/s.
  const cpuPerCall = (cpu.user + cpu.system) / Math.max(1, done);
  console.log(
    `${name.padEnd(22)} ${rate.toFixed(0).padStart(7)} calls/s  p50 ${pct(0.5)} ms  p99 ${pct(0.99)} ms  client CPU ${cpuPerCall.toFixed(0)} µs/call`,
  );
  return rate;
}

const child = spawn(process.execPath, ['--import', 'tsx', new URL('./bench-sim.ts', import.meta.url).pathname], { stdio: ['ignore', 'pipe', 'inherit'] });
const [simUrl, tid] = await new Promise<[string, string]>((resolve) => {
  child.stdout.once('data', (b: Buffer) => {
    const [u, t] = b.toString().trim().split(' ');
    resolve([u ?? '', t ?? '']);
  });
});
const sim = { url: simUrl };
const ctx = { requestId: 'bench' };
const auth = `Basic ${Buffer.from(`${DEV.username}:${DEV.password}`).toString('base64')}`;

const lean = await createSoapClient({ system: 'tmo', wsdlPath: TMO_WSDL, endpoint: sim.url, timeoutMs: 5000, maxSockets: concurrency, headers: { Authorization: auth } });
const adapter = await createTmoAdapter(tmoOptions(sim.url, { bulkhead: { limit: concurrency, maxQueue: concurrency }, timeoutMs: 5000 }));
const ref = await soap.createClientAsync(TMO_WSDL, { endpoint: sim.url });
ref.setSecurity(new soap.BasicAuthSecurity(DEV.username, DEV.password));

const envelope = lean.envelope('GetTerminal', { TID: tid });
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const url = new URL(sim.url);
const direct = () =>
  new Promise<void>((resolve, reject) => {
    const req = http.request(
      { hostname: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: '"GetTerminal"', Authorization: auth, 'Content-Length': Buffer.byteLength(envelope) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve());
      },
    );
    req.on('error', reject);
    req.end(envelope);
  });

console.log(`GetTerminal against the TMO simulator, ${concurrency} concurrent callers, ${seconds}s each, simulator in a child process`);
const d = await measure('direct (raw POST)', direct);
const l = await measure('lean client', () => lean.call('GetTerminal', { TID: tid }, ctx));
const a = await measure('TMO adapter (full)', () => adapter.getTerminal(tid, ctx));
const n = await measure('node-soap client', () => (ref as unknown as { GetTerminalAsync(a: unknown): Promise<unknown> }).GetTerminalAsync({ TID: tid }));
console.log(`lean/direct ${(100 * l / d).toFixed(0)}%  adapter/direct ${(100 * a / d).toFixed(0)}%  node-soap/direct ${(100 * n / d).toFixed(0)}%`);

lean.close();
await adapter.close();
agent.destroy();
child.kill();
