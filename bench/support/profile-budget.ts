/**
 * Reads V8 CPU profiles (`--cpu-prof`, e.g. from `npm run bench:facade -- --cpu-prof DIR`) and
 * prints where the time went per gateway layer (bench/facade/README.md, issue 8). Each sample is
 * charged to the nearest frame on its stack that belongs to a known layer, so Node's own socket
 * and stream work lands on the layer that asked for it (the HTTP server or the legacy client).
 *
 *   npx tsx bench/support/profile-budget.ts <file.cpuprofile|dir>… [--per-request N]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** First match wins; tested against `url functionName`. */
const LAYERS: Array<[string, RegExp]> = [
  ['GC', /^ \(garbage collector\)$/],
  ['idle', /^ \((idle|program)\)$/],
  ['JWT check', /\/jose\/|\/src\/api\/auth\//],
  ['request id and access log', /\/pino\/|sonic-boom|\/src\/infra\/logger\.ts|\/src\/api\/middleware\//],
  ['metrics', /prom-client|\/src\/infra\/metrics\.ts/],
  ['breaker and bulkhead', /\/opossum\/|\/p-limit\/|yocto-queue|\/resilience\.ts/],
  ['SOAP envelope', /\/src\/adapters\/soap\/(envelope|wsse)\.ts/],
  ['HTTP client (legacy)', /\/undici\/|\/src\/adapters\/soap\/transport\.ts/],
  ['XML parse', /\/src\/adapters\/soap\/(fast-xml|response)\.ts|fast-xml-parser/],
  ['SOAP client, faults, adapters', /\/src\/adapters\//],
  ['translation', /\/src\/translators\//],
  ['read-model copy (Redis)', /\/src\/api\/read-model|\/ioredis\/|\/redis-parser\//],
  ['JSON out', / stringify$|\/src\/api\/mappers\.ts/],
  ['routing and zod', /\/hono\/|\/@hono\/zod-openapi|\/zod\/|\/src\/api\/(routes|schemas|validation|app|problem)/],
  ['HTTP server adapter', /@hono\/node-server|node:_http_server|node:_http_common|node:_http_incoming|node:_http_outgoing/],
  ['domain services', /\/src\/domain\//],
];

const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'per-request': { type: 'string' } } });
const files = positionals.flatMap((p) => (statSync(p).isDirectory() ? readdirSync(p).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(p, f)) : [p]));
const totals = new Map<string, number>();
let all = 0;
for (const file of files) {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const layerOf = new Map<number, string>();
  const resolve = (id: number): string => {
    const known = layerOf.get(id);
    if (known) return known;
    const n = byId.get(id);
    const key = `${n?.callFrame.url ?? ''} ${n?.callFrame.functionName ?? ''}`;
    const hit = LAYERS.find(([, re]) => re.test(key));
    const up = parent.get(id);
    const layer = hit ? hit[0] : up === undefined ? 'other (Node internals, timers, event loop)' : resolve(up);
    layerOf.set(id, layer);
    return layer;
  };
  // Only the load: from the first request (a sample under the access-log middleware) on;
  // start-up (module loading, tsx transpiling) is not a per-request cost.
  const inRequest = (id: number): boolean => {
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      if (/access-log/.test(byId.get(n)?.callFrame.url ?? '')) return true;
    }
    return false;
  };
  const first = prof.samples.findIndex(inRequest);
  prof.samples.forEach((id, i) => {
    if (i < first) return;
    const us = prof.timeDeltas[i] ?? 0;
    const layer = resolve(id);
    totals.set(layer, (totals.get(layer) ?? 0) + us);
    all += us;
  });
}
const busy = all - (totals.get('idle') ?? 0);
const perRequest = values['per-request'] ? Number(values['per-request']) : undefined;
console.log(`| layer | share of busy CPU |${perRequest ? ' µs/request |' : ''}`);
console.log(`| --- | --- |${perRequest ? ' --- |' : ''}`);
for (const [layer, us] of [...totals].filter(([l]) => l !== 'idle').sort((a, b) => b[1] - a[1])) {
  console.log(`| ${layer} | ${((100 * us) / busy).toFixed(1)} % |${perRequest ? ` ${(us / perRequest).toFixed(0)} |` : ''}`);
}
console.log(`busy ${(busy / 1e6).toFixed(2)} s of ${(all / 1e6).toFixed(2)} s sampled in ${files.length} profile(s)`);
