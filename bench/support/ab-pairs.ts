/**
 * The alternating loop of the A/B benches: `alternatePairs` (used by `bench/facade/ab.ts` and
 * `bench/facade/run.ts`'s paired mode, which measure processes in bursts) and, on it, the
 * in-process A/B of `bench/facade/chain.ts` and `bench/facade/call-path.ts`: a warm-up of both
 * sides, then `pairs` pairs of batches in alternating order (so neither side always runs after
 * the other's garbage), and one line with both medians, the lowest figures and the median of
 * the per-pair ratios B/A.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';

/**
 * The options both in-process A/B benches take: `--a`/`--b` checkouts, `--pairs`, `--requests`
 * per batch, `--concurrency` in flight and `--warmup` calls (default per bench).
 */
export function parseAbArgs(defaultWarmup: number): { a: string; b: string; pairs: number; perBatch: number; concurrency: number; warmup: number } {
  const { values: args } = parseArgs({
    options: {
      a: { type: 'string', default: '.' },
      b: { type: 'string' },
      pairs: { type: 'string', default: '20' },
      requests: { type: 'string', default: '20000' },
      concurrency: { type: 'string', default: '20' },
      warmup: { type: 'string', default: String(defaultWarmup) },
    },
  });
  if (!args.b) throw new Error('--b <checkout> is required');
  return {
    a: args.a ?? '.',
    b: args.b,
    pairs: Number(args.pairs),
    perBatch: Number(args.requests),
    concurrency: Number(args.concurrency),
    warmup: Number(args.warmup),
  };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
}

/**
 * `pairs` times one run of every side in `order`, the order reversed every other time (A B, B A,
 * …; with three sides X A B, B A X, …, so the middle one always runs right next to both others):
 * no side always runs after the same one. Answers each pair's results by side; `onPair` sees
 * each pair as it completes (0-based index).
 */
export async function alternatePairs<K extends string, R>(
  order: readonly K[],
  pairs: number,
  run: (side: K, pair: number) => Promise<R>,
  onPair?: (results: Record<K, R>, pair: number) => void,
): Promise<Array<Record<K, R>>> {
  const out: Array<Record<K, R>> = [];
  for (let i = 0; i < pairs; i++) {
    const results = {} as Record<K, R>;
    for (const side of i % 2 === 0 ? order : [...order].reverse()) results[side] = await run(side, i);
    out.push(results);
    onPair?.(results, i);
  }
  return out;
}

export interface AbPairsOptions<T> {
  sides: { A: T; B: T };
  /** runs `n` calls through one side and answers its CPU µs per call */
  batch: (side: T, n: number) => Promise<number>;
  pairs: number;
  perBatch: number;
  warmup: number;
  /** e.g. `edge CPU µs/request` */
  what: string;
  /** e.g. `requests, 20 in flight` */
  unit: string;
}

export async function runAbPairs<T>(o: AbPairsOptions<T>): Promise<void> {
  for (let i = 0; i < 4; i++) {
    await o.batch(o.sides.A, o.warmup / 4);
    await o.batch(o.sides.B, o.warmup / 4);
  }
  const la0 = loadavg().map((x) => x.toFixed(2)).join(' ');
  const results = await alternatePairs(['A', 'B'] as const, o.pairs, (side) => o.batch(o.sides[side], o.perBatch));
  const a = results.map((r) => r.A);
  const b = results.map((r) => r.B);
  const ratios = results.map((r) => r.B / r.A);
  const la1 = loadavg().map((x) => x.toFixed(2)).join(' ');
  console.log(`${new Date().toISOString()} loadavg ${la0} → ${la1}; ${o.pairs} pairs of ${o.perBatch} ${o.unit}`);
  console.log(
    `${o.what}, median: A ${median(a).toFixed(1)} (lowest ${Math.min(...a).toFixed(1)}), B ${median(b).toFixed(1)} (lowest ${Math.min(...b).toFixed(1)}); ` +
      `B/A per pair, median ${median(ratios).toFixed(3)} (${ratios.map((r) => r.toFixed(2)).join(' ')})`,
  );
}

/**
 * The first row of the bench's table, by column name: the header's names are two or more spaces
 * apart, the row's values one token each but the last (the load average, three numbers). A
 * column the bench does not print (an older checkout's bench) reads NaN.
 */
export function readRow(header: string, row: string): (name: string) => number {
  const names = header.trim().split(/\s{2,}/);
  const values = row.trim().split(/\s+/);
  return (name) => {
    const i = names.indexOf(name);
    return i < 0 || i >= names.length - 1 ? NaN : Number(values[i]);
  };
}
