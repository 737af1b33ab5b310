/**
 * Side-by-side runs of the queue bench (`npx tsx bench/queue/pairs.ts --side A=<checkout>[::args]
 * --side B=<checkout>[::args] [--pairs 5] [-- <bench args for every side>]`): each side is
 * `bench/queue/run.ts` run from inside its own checkout (a `git archive` copy, node_modules
 * linked), with the common bench arguments after `--` and the side's own after `::` (e.g.
 * `B=/tmp/b::--entry dist/worker.js`). Sides alternate (A B, B A, …: `alternatePairs`), one
 * concurrency per run; prints each run's row as it ends, then per side the medians (range) of
 * commands/s, worker CPU µs/command and the floor, and per pair the ratios to the first side.
 */
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { alternatePairs, median, readRow } from '../support/ab-pairs.ts';

const args = process.argv.slice(2);
const dash = args.indexOf('--');
const own = dash < 0 ? args : args.slice(0, dash);
const common = dash < 0 ? [] : args.slice(dash + 1);
const sides: Array<{ name: string; dir: string; args: string[] }> = [];
let pairs = 5;
let log: string | undefined;
for (let i = 0; i < own.length; i++) {
  const a = own[i];
  const v = own[i + 1];
  if (a === '--side' && v) {
    const [name, rest] = v.split(/=(.*)/s) as [string, string];
    const [dir, extra] = rest.split('::') as [string, string | undefined];
    sides.push({ name, dir, args: extra ? extra.split(' ').filter(Boolean) : [] });
    i++;
  } else if (a === '--pairs' && v) {
    pairs = Number(v);
    i++;
  } else if (a === '--log' && v) {
    log = v;
    i++;
  } else throw new Error(`unknown argument ${a}`);
}
if (sides.length < 2) throw new Error('at least two --side NAME=<checkout>[::args]');

interface Row {
  perSecond: number;
  workerUs: number;
  redisPerCommand: number;
  redisUs: number;
  floorPerSecond: number;
  floorUs: number;
  warm: string;
  load: string;
}

const say = (s: string) => {
  process.stdout.write(`${s}\n`);
  if (log) appendFileSync(log, `${s}\n`);
};

function runSide(side: { name: string; dir: string; args: string[] }): Promise<Row> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(side.dir, 'bench/queue/run.ts'), ...common, ...side.args], { cwd: side.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    p.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    p.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`${side.name} exited ${String(code)}:\n${out}`));
      const lines = out.split('\n');
      const head = lines.findIndex((l) => l.startsWith('WORKER_CONCURRENCY'));
      const col = readRow(lines[head] ?? '', lines[head + 1] ?? '');
      const warm = lines.find((l) => l.includes('warm-up:'))?.trim() ?? '';
      resolve({
        perSecond: col('commands/s'),
        redisPerCommand: col('Redis cmds/command'),
        workerUs: col('worker CPU µs/command'),
        redisUs: col('Redis CPU µs/command'),
        floorPerSecond: col('BullMQ floor jobs/s'),
        floorUs: col('floor CPU µs/job'),
        warm,
        load: (lines[head + 1] ?? '').trim().split(/\s+/).slice(-3).join(' '),
      });
    });
  });
}

say(`# queue pairs ${new Date().toISOString()}, loadavg ${loadavg().map((l) => l.toFixed(2)).join(' ')}; common: ${common.join(' ')}`);
for (const s of sides) say(`#   ${s.name} = ${s.dir} ${s.args.join(' ')}`);
const names = sides.map((s) => s.name);
const results = await alternatePairs(names, pairs, async (name, pair) => {
  const side = sides.find((s) => s.name === name);
  if (!side) throw new Error(name);
  const r = await runSide(side);
  say(
    `pair ${pair + 1} ${name}: ${r.perSecond} commands/s, worker ${r.workerUs} µs/command, Redis ${r.redisUs} µs, ${r.redisPerCommand} cmds; floor ${r.floorPerSecond} jobs/s ${r.floorUs} µs/job; load ${r.load} (${new Date().toISOString().slice(11, 19)}) ${r.warm}`,
  );
  return r;
});
const range = (xs: number[]) => `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;
for (const name of names) {
  const rs = results.map((r) => r[name] as Row);
  say(
    `${name}: commands/s ${range(rs.map((r) => r.perSecond))}; worker µs/command ${range(rs.map((r) => r.workerUs))}; Redis µs/command ${range(rs.map((r) => r.redisUs))}; floor jobs/s ${range(rs.map((r) => r.floorPerSecond))}, floor µs/job ${range(rs.map((r) => r.floorUs))}`,
  );
}
const first = names[0] as string;
for (const name of names.slice(1)) {
  const cpu = results.map((r) => (r[name] as Row).workerUs / (r[first] as Row).workerUs);
  const tput = results.map((r) => (r[name] as Row).perSecond / (r[first] as Row).perSecond);
  say(
    `${name}/${first} per pair: worker CPU ×${median(cpu).toFixed(2)} (${cpu.map((x) => x.toFixed(2)).join(' ')}); commands/s ×${median(tput).toFixed(2)} (${tput.map((x) => x.toFixed(2)).join(' ')})`,
  );
}
process.exit(0);
