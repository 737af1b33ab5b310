/**
 * Builds TERMSTAT files (BATCH.md §3) for tests and benches: valid ones from rows in legacy
 * terms, streamed in chunks so a 2,000,000-record file never sits in memory.
 */
export interface TermstatRow {
  tid: string;
  mid: string;
  /** legacy status code PE/AC/SU/DC (or anything, to build a corrupt file) */
  status: string;
  /** `YYYYMMDDHHMMSS`, or `00000000000000` for never */
  lastSeen: string;
  transactions: number;
  /** euro cents */
  amount: number;
}

const line = (s: string) => `${s.padEnd(80, ' ')}\r\n`;

export function termstatHeader(date: string): string {
  return line(`H${date}TERMSTAT`);
}

export function termstatDetail(r: TermstatRow): string {
  return line(
    `D${r.tid}${r.mid}${r.status}${r.lastSeen}${String(r.transactions).padStart(7, '0')}${String(r.amount).padStart(12, '0')}`,
  );
}

export function termstatTrailer(count: number, amountTotal: number): string {
  return line(`T${String(count).padStart(7, '0')}${String(amountTotal % 1e12).padStart(12, '0')}`);
}

/** A whole (small) file; `trailer` overrides the computed count/total to make it corrupt. */
export function termstatFile(date: string, rows: TermstatRow[], trailer?: { count?: number; total?: number }): Buffer {
  const total = rows.reduce((s, r) => s + r.amount, 0);
  return Buffer.from(
    termstatHeader(date) + rows.map(termstatDetail).join('') + termstatTrailer(trailer?.count ?? rows.length, trailer?.total ?? total),
    'latin1',
  );
}

const STATUSES = ['PE', 'AC', 'SU', 'DC'] as const;

/**
 * `count` synthetic terminals `T0000000`… in chunks of about 256 KiB; `seed` shifts statuses so
 * two snapshots differ for a known share of terminals (every terminal whose index % 10 < shift).
 */
export function* syntheticTermstat(date: string, count: number, opts: { statusShift?: number } = {}): Generator<Buffer> {
  const shift = opts.statusShift ?? 0;
  let parts: string[] = [termstatHeader(date)];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const amount = (i * 7919) % 1_000_000;
    total = (total + amount) % 1e12;
    const s = STATUSES[(i + (i % 10 < shift ? 1 : 0)) % 4] as string;
    const seen = i % 97 === 0 ? '00000000000000' : `${date}${String(i % 24).padStart(2, '0')}${String(i % 60).padStart(2, '0')}00`;
    parts.push(
      termstatDetail({
        tid: `T${i.toString(36).toUpperCase().padStart(7, '0')}`,
        mid: String(100_000 + (i % 50_000)).padStart(15, '0'),
        status: s,
        lastSeen: seen,
        transactions: i % 500,
        amount,
      }),
    );
    if (parts.length >= 3_200) {
      yield Buffer.from(parts.join(''), 'latin1');
      parts = [];
    }
  }
  parts.push(termstatTrailer(count, total));
  yield Buffer.from(parts.join(''), 'latin1');
}
