/**
 * Per-layer CPU budget of the gateway from Linux `perf` samples (bench/facade/README.md), the
 * on-CPU counterpart of `profile-budget.ts`: V8's `--cpu-prof` samples wall-clock time, so on a
 * loaded machine a syscall that wakes another process (the response `writev`) collects the time
 * the gateway then waits for a core; `perf record -e cpu-clock` only samples while it runs, and
 * sees V8's helper threads (TurboFan, concurrent GC) that `process.cpuUsage()` also counts.
 *
 *   node --perf-basic-prof … src/main.ts            # JS frame names for perf (the bench: see README)
 *   perf record -e cpu-clock -F 999 -g -p <gateway pid> -o gw.data -- sleep 30
 *   npx tsx bench/support/perf-budget.ts before=base.data after=gw.data
 *
 * Each main-thread sample is charged to the nearest frame on its stack (leaf first) that
 * belongs to a layer, so kernel and Node work lands on the layer that asked for it; samples
 * on other threads are one line.
 */
import { spawnSync } from 'node:child_process';

const LAYERS: Array<[string, RegExp]> = [
  ['JWT check', /\/jose\/|\/src\/api\/auth\//],
  ['request id and access log', /\/pino\/|sonic-boom|\/src\/infra\/logger\.ts|\/src\/api\/middleware\/(access-log|request-id)/],
  ['security headers', /secure-headers|\/src\/api\/middleware\/(security-headers|response-headers)/],
  ['metrics', /prom-client|\/src\/infra\/metrics\.ts/],
  ['breaker and bulkhead', /\/opossum\/|\/p-limit\/|yocto-queue|\/resilience\.ts/],
  ['SOAP envelope', /\/src\/adapters\/soap\/(envelope|wsse)\.ts/],
  ['HTTP client (legacy)', /\/undici\/lib|\/src\/adapters\/soap\/transport\.ts|wasm-function/],
  ['XML parse', /\/src\/adapters\/soap\/(fast-xml|response)\.ts|fast-xml-parser/],
  ['SOAP client, faults, adapters', /\/src\/adapters\//],
  ['translation', /\/src\/translators\//],
  ['read-model copy (Redis)', /\/src\/api\/stale-if-error|\/src\/jobs\/last-known|\/src\/jobs\/batch\/snapshot|\/ioredis\/|\/redis-parser\//],
  ['JSON out', /\/src\/api\/mappers\.ts|JsonStringif/],
  ['routing and zod', /\/hono\/dist|\/@hono\/zod-openapi|\/@hono\/zod-validator|\/zod\/|\/src\/api\/(routes|schemas|validation|app|problem|context)/],
  ['HTTP server adapter', /@hono\/node-server|node:_http_server|node:_http_common|node:_http_incoming|node:_http_outgoing|Parser::/],
  ['domain services', /\/src\/domain\//],
];
const GC = /Scaveng|v8::internal::Heap::|MarkCompact|Sweeper|ConcurrentMarking|IncrementalMarking|GCTracer|MinorMarkSweep/;
const OTHER_THREADS = 'V8 helper threads (JIT compiler, GC), libuv pool';
const OTHER = 'other (event loop, microtasks, timers, streams)';

function budget(file: string): { shares: Map<string, number>; samples: number } {
  const run = spawnSync('perf', ['script', '-i', file, '-F', 'tid,ip,sym'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (run.status !== 0) throw new Error(`perf script failed: ${run.stderr}`);
  const samples = run.stdout.split('\n\n').map((block) => block.split('\n').filter((l) => l.trim() !== ''));
  const byThread = new Map<string, number>();
  for (const s of samples) if (s[0]) byThread.set(s[0].trim().split(/\s+/)[0] ?? '', (byThread.get(s[0].trim().split(/\s+/)[0] ?? '') ?? 0) + 1);
  const main = [...byThread].sort((a, b) => b[1] - a[1])[0]?.[0];
  const counts = new Map<string, number>();
  let total = 0;
  for (const s of samples) {
    if (!s[0]) continue;
    total += 1;
    const tid = s[0].trim().split(/\s+/)[0];
    const frames = s.slice(1).map((l) => l.trim().replace(/^\S+\s+/, ''));
    let layer: string | undefined;
    if (tid !== main) layer = OTHER_THREADS;
    else if (frames[0] !== undefined && GC.test(frames[0])) layer = 'GC (main thread)';
    else {
      for (const f of frames) {
        layer = LAYERS.find(([, re]) => re.test(f))?.[0];
        if (layer) break;
      }
    }
    layer ??= OTHER;
    counts.set(layer, (counts.get(layer) ?? 0) + 1);
  }
  return { shares: counts, samples: total };
}

const inputs = process.argv.slice(2).map((a) => (a.includes('=') ? (a.split('=', 2) as [string, string]) : ([a, a] as [string, string])));
if (inputs.length === 0) throw new Error('usage: perf-budget.ts [label=]perf.data …');
const results = inputs.map(([label, file]) => ({ label, ...budget(file) }));
const last = results[results.length - 1] as (typeof results)[number];
const layers = [...new Set(results.flatMap((r) => [...r.shares.keys()]))].sort((a, b) => (last.shares.get(b) ?? 0) - (last.shares.get(a) ?? 0));
console.log(`| layer | ${results.map((r) => r.label).join(' | ')} |`);
console.log(`| --- |${results.map(() => ' --- |').join('')}`);
for (const layer of layers) {
  console.log(`| ${layer} | ${results.map((r) => `${((100 * (r.shares.get(layer) ?? 0)) / r.samples).toFixed(1)} %`).join(' | ')} |`);
}
console.log(`samples: ${results.map((r) => `${r.label} ${r.samples}`).join(', ')}`);
