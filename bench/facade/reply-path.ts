/**
 * Micro-benchmark of the legacy reply path of `GET /v1/terminals/{id}` (bench/facade/README.md):
 * the TMO simulator's recorded GetTerminal reply (fixtures/samples/tmo/get-terminal-active) goes
 * through exactly the functions the gateway runs on it, stage by stage, with no I/O:
 *
 *   parse      `interpretReply` (content type, status, `createResponseParser`'s parse)
 *   translate  the adapter's RETURN_CODE check + `fromTmoTerminal` (LAST_SEEN in Europe/Rome)
 *   view+dto   the terminal service's `toMerchantTerminal` + `toTerminalDto(t, null)`
 *   json       `JSON.stringify` of the DTO (what `jsonResponse` sends)
 *   remember   the last-known store's `remember` for a copy written < 10 s ago (no Redis write)
 *
 *   npx tsx bench/facade/reply-path.ts [--iterations 100000] [--runs 9] [--root /tmp/base --root .]
 *
 * Each `--root` is a checkout whose code runs (default: this one), e.g. `/tmp/base` from
 * `git archive main`; with two, their runs alternate in one process so both see the same load,
 * and the per-run ratio second/first is printed. Prints the median ns/op of `--runs` runs per
 * stage and for the whole path (untimed stages), after a warm-up of one run each.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    iterations: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '9' },
    root: { type: 'string', multiple: true },
  },
});
const roots = (args.root ?? ['.']).map((r) => resolve(r));
const iterations = Number(args.iterations);
const runs = Number(args.runs);
const body = readFileSync(join(resolve('.'), 'fixtures/samples/tmo/get-terminal-active/response.xml'), 'utf8');
const reply = { status: 200, contentType: 'text/xml; charset=utf-8', body, retryAfterSeconds: undefined };
const TZ = 'Europe/Rome';

interface Stages {
  parse(): { body: Record<string, unknown> };
  translate(b: Record<string, unknown>): unknown;
  viewDto(t: unknown): readonly [unknown, unknown];
  json(dto: unknown): string;
  remember(v: unknown): void;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- two checkouts' modules, loaded by path */
async function stagesOf(root: string): Promise<Stages> {
  type Mod = Record<string, unknown>;
  const load = async (rel: string): Promise<Mod> => (await import(pathToFileURL(join(root, rel)).href)) as Mod;
  const [wsdl, response, client, terminal, faults, mappers, lastKnown, service] = await Promise.all([
    load('src/adapters/soap/wsdl.ts'),
    load('src/adapters/soap/response.ts'),
    load('src/adapters/soap/client.ts'),
    load('src/translators/tmo/terminal.ts'),
    load('src/adapters/soap/tmo-faults.ts'),
    load('src/api/mappers.ts'),
    load('src/jobs/last-known.ts'),
    load('src/domain/services/terminal-service.ts'),
  ]);
  const spec = await (wsdl.loadServiceSpec as (p: string) => Promise<any>)(join(root, 'fixtures/tmo/TerminalManagement.wsdl'));
  const op = spec.operations.get('GetTerminal');
  const parse = (response.createResponseParser as (ops: Iterable<unknown>) => any)(spec.operations.values());
  const interpretReply = client.interpretReply as ((system: string, parse: unknown, op: unknown, reply: unknown) => any) | undefined;
  if (interpretReply === undefined) throw new Error(`${root}: src/adapters/soap/client.ts does not export interpretReply (see the README)`);
  const fromTmoTerminal = terminal.fromTmoTerminal as (v: unknown, tz: string) => any;
  const tmoReturnOutcome = faults.tmoReturnOutcome as (op: string, code: string, msg: string) => string;
  const toTerminalDto = mappers.toTerminalDto as (t: unknown, snapshot?: unknown) => unknown;
  const toMerchantTerminal = service.toMerchantTerminal as ((t: unknown, merchantId: string | null) => unknown) | undefined;
  if (toMerchantTerminal === undefined) throw new Error(`${root}: src/domain/services/terminal-service.ts does not export toMerchantTerminal (see the README)`);
  const store = (lastKnown.createLastKnownStore as (o: unknown) => any)({
    redis: { set: () => Promise.resolve('OK') },
    prefix: 'lgw',
    cipher: { seal: (s: string) => s, open: (s: string) => s },
    ttlSeconds: 60,
    logger: { warn: () => undefined },
    refreshMs: 1e12, // the copy stays fresh: every call after the first is the compare-and-skip
  });
  // Each stage gets fresh input made by the stage before it, as in the gateway.
  return {
    parse: () => interpretReply('tmo', parse, op, reply),
    translate: (b) => {
      if (tmoReturnOutcome('GetTerminal', b.RETURN_CODE as string, b.RETURN_MSG as string) !== 'ok') throw new Error('not ok');
      return fromTmoTerminal(b.TERMINAL, TZ);
    },
    viewDto: (t: unknown) => {
      const v = toMerchantTerminal(t, 'C000000001');
      return [v, toTerminalDto(v, null)] as const;
    },
    json: (dto) => JSON.stringify(dto),
    remember: (v) => store.remember('terminal', 'WAS98KWZ', v),
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

let sink = 0;
function runOnce(stages: Stages, n: number): Record<string, number> {
  const ns = { parse: 0n, translate: 0n, viewDto: 0n, json: 0n, remember: 0n };
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const parsed = stages.parse();
    const t1 = process.hrtime.bigint();
    const term = stages.translate(parsed.body);
    const t2 = process.hrtime.bigint();
    const [view, dto] = stages.viewDto(term);
    const t3 = process.hrtime.bigint();
    sink += stages.json(dto).length;
    const t4 = process.hrtime.bigint();
    stages.remember(view);
    const t5 = process.hrtime.bigint();
    ns.parse += t1 - t0;
    ns.translate += t2 - t1;
    ns.viewDto += t3 - t2;
    ns.json += t4 - t3;
    ns.remember += t5 - t4;
  }
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(ns)) out[k] = Number(v) / n;
  return out;
}

// The same path without per-stage timers (hrtime costs ~40 ns a call): the headline figure.
function runWhole(stages: Stages, n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const parsed = stages.parse();
    const [view, dto] = stages.viewDto(stages.translate(parsed.body));
    sink += stages.json(dto).length;
    stages.remember(view);
  }
  return Number(process.hrtime.bigint() - t0) / n;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

// Checkouts alternate run by run (A, B, A, B, …) so that both see the same machine load.
const all = await Promise.all(roots.map(stagesOf));
for (const stages of all) {
  runOnce(stages, iterations);
  runWhole(stages, iterations);
}
const perStage: Record<string, number>[][] = all.map(() => []);
const whole: number[][] = all.map(() => []);
const loadBefore = load();
for (let r = 0; r < runs; r++) {
  all.forEach((stages, k) => {
    perStage[k]?.push(runOnce(stages, iterations));
    whole[k]?.push(runWhole(stages, iterations));
  });
}
console.log(`${new Date().toISOString()} ${runs} alternating runs × ${iterations} calls; loadavg ${loadBefore} → ${load()}; ns/op, median of the runs:`);
roots.forEach((root, k) => {
  const stages = perStage[k] ?? [];
  const row = Object.keys(stages[0] ?? {}).map((s) => `${s} ${median(stages.map((p) => p[s] as number)).toFixed(0)}`);
  console.log(`  ${root}: ${row.join(', ')}; whole path ${median(whole[k] ?? []).toFixed(0)} (runs ${(whole[k] ?? []).map((w) => w.toFixed(0)).join(' ')})`);
});
if (roots.length >= 2) {
  const ratios = (whole[1] ?? []).map((b, r) => b / (whole[0]?.[r] ?? NaN));
  console.log(`  whole path, second/first per run: median ${median(ratios).toFixed(2)} (${ratios.map((x) => x.toFixed(2)).join(' ')})`);
}
if (sink === 0) console.log('(nothing measured)');
