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
 *
 * `--by-module` answers a different question — is the gateway's socket work dearer than the bare
 * proxy's? — for any Node process, the bare proxy included (start it with
 * `NODE_OPTIONS=--perf-basic-prof`): each main-thread sample goes to the module of its innermost
 * JS frame (its self time, builtins and runtime calls included), the response/request `writev`
 * (kernel included) on a line of its own. `label=file.data@344` prints µs per request (344 =
 * that run's CPU µs/request) instead of shares, so two processes compare in absolute terms:
 *
 *   npx tsx bench/support/perf-budget.ts --by-module gateway=gw.data@344 bare=bare.data@165
 */
import { spawnSync } from 'node:child_process';
import { asSource } from './frames.ts';

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

interface Sample {
  tid: string;
  /** leaf first, symbol names only */
  frames: string[];
}

function samplesOf(file: string): { samples: Sample[]; main: string | undefined } {
  const run = spawnSync('perf', ['script', '-i', file, '-F', 'tid,ip,sym'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (run.status !== 0) throw new Error(`perf script failed: ${run.stderr}`);
  const samples: Sample[] = [];
  const byThread = new Map<string, number>();
  for (const block of run.stdout.split('\n\n')) {
    const lines = block.split('\n').filter((l) => l.trim() !== '');
    if (!lines[0]) continue;
    const tid = lines[0].trim().split(/\s+/)[0] ?? '';
    byThread.set(tid, (byThread.get(tid) ?? 0) + 1);
    samples.push({ tid, frames: lines.slice(1).map((l) => asSource(l.trim().replace(/^\S+\s+/, ''))) });
  }
  return { samples, main: [...byThread].sort((a, b) => b[1] - a[1])[0]?.[0] };
}

function budget(file: string): { shares: Map<string, number>; samples: number } {
  const { samples, main } = samplesOf(file);
  const counts = new Map<string, number>();
  for (const { tid, frames } of samples) {
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
  return { shares: counts, samples: samples.length };
}

/** `--by-module`: the module of each main-thread sample's innermost JS frame (first match wins). */
const MODULES: Array<[string, RegExp]> = [
  ['node:http server side (parser callbacks, ServerResponse, headers)', /node:_http_(server|outgoing|common|incoming)/],
  ['node:http client side (ClientRequest, Agent)', /node:_http_(client|agent)/],
  ['undici (dispatch, llhttp wasm, callbacks) + src/adapters/soap/transport.ts', /\/undici\/lib|wasm-|\/src\/adapters\/soap\/transport\.ts/],
  ['@hono/node-server (request listener, Response write)', /@hono\/node-server/],
  ['node streams (socket read/write buffers, IncomingMessage)', /node:internal\/streams|stream_base_commons|string_decoder|node:net/],
  ['promises, nextTick, timers', /task_queues|node:internal\/timers|node:timers|node:internal\/process\/promises/],
  ['AbortController / EventTarget', /abort_controller|event_target/],
  ['hono (router, compose, Context)', /\/hono\/dist/],
  ['the gateway\'s own code (src/)', /\/src\//],
  ['other node_modules (pino, jose, opossum, prom-client, zod, ioredis, …)', /node_modules/],
  ['other Node internals (events, buffer, crypto, …)', /node:/],
];
const WRITES = 'socket writes: `writev` syscall, kernel included';
const NATIVE = 'no JS frame on the stack (libuv reads, epoll, GC, native parser)';

function byModule(file: string): { shares: Map<string, number>; samples: number } {
  const { samples, main } = samplesOf(file);
  const counts = new Map<string, number>();
  for (const { tid, frames } of samples) {
    let key: string;
    const js = frames.findIndex((f) => f.startsWith('JS:'));
    if (tid !== main) key = OTHER_THREADS;
    else if (js === -1) key = NATIVE;
    else if (frames.slice(0, js).some((f) => f.startsWith('entry_SYSCALL')) && /clearBuffer|_writeGeneric|writeGeneric|writev/.test(frames[js] as string)) key = WRITES;
    else key = MODULES.find(([, re]) => re.test(frames[js] as string))?.[0] ?? 'other JS (the bare proxy: its own handler)';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return { shares: counts, samples: samples.length };
}

const argv = process.argv.slice(2);
const modules = argv.includes('--by-module');
const inputs = argv
  .filter((a) => a !== '--by-module')
  .map((a) => {
    const [label, rest] = a.includes('=') ? (a.split('=', 2) as [string, string]) : [a, a];
    const at = rest.lastIndexOf('@');
    const us = at > 0 ? Number(rest.slice(at + 1)) : Number.NaN;
    return { label, file: Number.isFinite(us) ? rest.slice(0, at) : rest, us };
  });
if (inputs.length === 0) throw new Error('usage: perf-budget.ts [--by-module] [label=]perf.data[@cpuMicrosPerRequest] …');
const results = inputs.map(({ label, file, us }) => ({ label, us, ...(modules ? byModule(file) : budget(file)) }));
const last = results[results.length - 1] as (typeof results)[number];
const layers = [...new Set(results.flatMap((r) => [...r.shares.keys()]))].sort((a, b) => (last.shares.get(b) ?? 0) - (last.shares.get(a) ?? 0));
const cell = (r: (typeof results)[number], n: number) =>
  Number.isFinite(r.us) ? `${((r.us * n) / r.samples).toFixed(1)} µs` : `${((100 * n) / r.samples).toFixed(1)} %`;
console.log(`| ${modules ? 'module (innermost JS frame)' : 'layer'} | ${results.map((r) => r.label).join(' | ')} |`);
console.log(`| --- |${results.map(() => ' --- |').join('')}`);
for (const layer of layers) console.log(`| ${layer} | ${results.map((r) => cell(r, r.shares.get(layer) ?? 0)).join(' | ')} |`);
console.log(`samples: ${results.map((r) => `${r.label} ${r.samples}`).join(', ')}`);
