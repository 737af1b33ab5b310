/**
 * Micro-benchmark of the legacy reply path of `GET /v1/terminals/{id}` (bench/facade/README.md):
 * the TMO simulator's recorded GetTerminal reply (fixtures/samples/tmo/get-terminal-active) goes
 * through exactly the functions the gateway runs on it, stage by stage, with no I/O:
 *
 *   parse      `interpretReply` (content type, status, `createResponseParser`'s parse)
 *   translate  the adapter's RETURN_CODE check + `fromTmoTerminal` (LAST_SEEN in Europe/Rome)
 *   view+dto   the terminal service's view (copied here: it is a closure there) + `toTerminalDto(t, null)`
 *   json       `JSON.stringify` of the DTO (what `jsonResponse` sends)
 *   remember   the last-known store's `remember` for a copy written < 10 s ago (no Redis write)
 *
 *   npx tsx bench/facade/reply-path.ts [--iterations 200000] [--runs 7] [--root <checkout>]
 *
 * `--root` runs another checkout's code (e.g. `/tmp/base` from `git archive main`) so before and
 * after can alternate in one session. Prints the median ns/op of `--runs` runs per stage and for
 * the whole path, after a warm-up of the same size as one run.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    iterations: { type: 'string', default: '200000' },
    runs: { type: 'string', default: '7' },
    root: { type: 'string', default: '.' },
  },
});
const root = resolve(args.root ?? '.');
const iterations = Number(args.iterations);
const runs = Number(args.runs);

type Mod = Record<string, unknown>;
const load = async (rel: string): Promise<Mod> => (await import(pathToFileURL(join(root, rel)).href)) as Mod;
const [wsdl, response, client, terminal, faults, mappers, lastKnown] = await Promise.all([
  load('src/adapters/soap/wsdl.ts'),
  load('src/adapters/soap/response.ts'),
  load('src/adapters/soap/client.ts'),
  load('src/translators/tmo/terminal.ts'),
  load('src/adapters/soap/tmo-faults.ts'),
  load('src/api/mappers.ts'),
  load('src/jobs/last-known.ts'),
]);

/* eslint-disable @typescript-eslint/no-explicit-any -- two checkouts' modules, loaded by path */
const spec = await (wsdl.loadServiceSpec as (p: string) => Promise<any>)(join(root, 'fixtures/tmo/TerminalManagement.wsdl'));
const op = spec.operations.get('GetTerminal');
const parse = (response.createResponseParser as (ops: Iterable<unknown>) => any)(spec.operations.values());
const interpretReply = client.interpretReply as ((system: string, parse: unknown, op: unknown, reply: unknown) => any) | undefined;
if (interpretReply === undefined) throw new Error(`${root}: src/adapters/soap/client.ts does not export interpretReply (see the README)`);
const fromTmoTerminal = terminal.fromTmoTerminal as (v: unknown, tz: string) => any;
const tmoReturnOutcome = faults.tmoReturnOutcome as (op: string, code: string, msg: string) => string;
const toTerminalDto = mappers.toTerminalDto as (t: unknown, snapshot?: unknown) => unknown;
const store = (lastKnown.createLastKnownStore as (o: unknown) => any)({
  redis: { set: () => Promise.resolve('OK') },
  prefix: 'lgw',
  cipher: { seal: (s: string) => s, open: (s: string) => s },
  ttlSeconds: 60,
  logger: { warn: () => undefined },
  refreshMs: 1e12, // the copy stays fresh: every call after the first is the compare-and-skip
});
/* eslint-enable @typescript-eslint/no-explicit-any */

const body = readFileSync(join(resolve('.'), 'fixtures/samples/tmo/get-terminal-active/response.xml'), 'utf8');
const reply = { status: 200, contentType: 'text/xml; charset=utf-8', body, retryAfterSeconds: undefined };
const TZ = 'Europe/Rome';

// Each stage gets fresh input made by the stage before it, as in the gateway.
const stages = {
  parse: () => interpretReply('tmo', parse, op, reply),
  translate: (b: Record<string, unknown>) => {
    if (tmoReturnOutcome('GetTerminal', b.RETURN_CODE as string, b.RETURN_MSG as string) !== 'ok') throw new Error('not ok');
    return fromTmoTerminal(b.TERMINAL, TZ);
  },
  // terminal-service.ts `view`, field for field
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  viewDto: (t: any) => {
    const v = {
      id: t.id,
      merchantId: 'C000000001',
      tmoMerchantId: t.tmoMerchantId,
      model: t.model,
      serialNumber: t.serialNumber,
      status: t.status,
      contactless: t.contactless,
      currency: t.currency,
      lastSeenAt: t.lastSeenAt,
    };
    return [v, toTerminalDto(v, null)] as const;
  },
  json: (dto: unknown) => JSON.stringify(dto),
  remember: (v: unknown) => store.remember('terminal', 'WAS98KWZ', v),
};

let sink = 0;
function runOnce(n: number): Record<string, number> {
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
  let total = 0;
  for (const [k, v] of Object.entries(ns)) {
    out[k] = Number(v) / n;
    total += Number(v) / n;
  }
  out.total = total;
  return out;
}

// The same path without per-stage timers (hrtime costs ~40 ns a call): the headline figure.
function runWhole(n: number): number {
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

runOnce(iterations);
runWhole(iterations);
const perStage: Record<string, number>[] = [];
const whole: number[] = [];
for (let r = 0; r < runs; r++) {
  perStage.push(runOnce(iterations));
  whole.push(runWhole(iterations));
}
const keys = Object.keys(perStage[0] ?? {});
const row = keys.map((k) => `${k} ${median(perStage.map((p) => p[k] as number)).toFixed(0)}`).join(', ');
console.log(
  `${root}: ns/op (median of ${runs} × ${iterations}) ${row}; whole path untimed ${median(whole).toFixed(0)} ` +
    `(runs ${whole.map((w) => w.toFixed(0)).join(' ')}); loadavg ${loadavg().map((l) => l.toFixed(2)).join(' ')}${sink === 0 ? '!' : ''}`,
);
