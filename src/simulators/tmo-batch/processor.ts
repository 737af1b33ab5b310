import { mkdir, readdir, readFile, rename, rm, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { yyyymmdd } from '../shared/time.ts';
import type { TmoState } from '../tmo/state.ts';
import {
  ackContent,
  checkTpu,
  isCalendarDate,
  refusalContent,
  sumMod12,
  termstatDetail,
  termstatHeader,
  termstatTrailer,
  type AckLine,
  type RecordResult,
  type RefusalReason,
} from './layouts.ts';

/** Transactions and amount of one terminal on a snapshot date (TERMSTAT positions 41–59). */
export interface TerminalActivity {
  transactions: number;
  amountCents: number;
}

export interface TmoBatchOptions {
  /** folder served as TMO's SFTP root; holds `inbox/`, `outbox/`, `outbox/archive/`, `outbox/error/` */
  root: string;
  /** the TMO simulator's terminals: TPU details are checked against and applied to them */
  state: TmoState;
  /** clock for processing dates; default `Date.now` */
  now?: () => number;
  /** zone of the processing date in the ACK; default `UTC` (like the TMO simulator's) */
  timeZone?: string;
  /** activity written into TERMSTAT; default {@link simulatedActivity} */
  activity?: (tid: string, date: string, status: string) => TerminalActivity;
  /** TERMSTAT is written in place this many records at a time … (default 5,000) */
  termstatChunkRecords?: number;
  /** … with this pause between chunks, "slowly" (default 0 ms: just yields) */
  termstatPauseMs?: number;
  /** names already used before this start (TMO refuses them with F004) */
  usedNames?: Iterable<string>;
}

/** What TMO did with one `.DAT` it picked up. */
export interface Pickup {
  name: string;
  answer: 'ACK' | 'NAK' | 'DUP';
  /** path of the answer under the root, e.g. `/outbox/TPU_20261127_001.ACK` */
  answerPath: string;
  /** NAK/DUP reason */
  reason?: RefusalReason;
  applied: number;
  rejected: number;
  at: number;
}

export interface TmoBatch {
  /**
   * One pick-up round: every `*.DAT` in `/inbox` (names ending `.PART` or anything else are left
   * alone), oldest name first. Each file is read, removed from `/inbox` (TMO consumes it) and
   * answered in `/outbox`. Concurrent calls share the running round.
   */
  processInbox(): Promise<Pickup[]>;
  /**
   * Writes `/outbox/TERMSTAT_<date>.DAT` from the simulated terminals, in place and in chunks,
   * then the empty `TERMSTAT_<date>.OK`. `date` is `YYYYMMDD`.
   */
  publishTermstat(date: string): Promise<{ path: string; records: number; bytes: number }>;
  /** Every name TMO has picked up (they are used: a second file of that name gets a DUP). */
  usedNames(): string[];
  /** The last 1,000 pick-ups, oldest first. */
  pickups(): Pickup[];
  /** Creates the four folders when missing. */
  ensureFolders(): Promise<void>;
}

export const BATCH_FOLDERS = ['inbox', 'outbox', 'outbox/archive', 'outbox/error'] as const;

/**
 * Deterministic activity of a simulated terminal: only `AC` terminals transact; count and amount
 * are derived from the TID and date (so a test can predict them with this same function).
 */
export function simulatedActivity(tid: string, date: string, status: string): TerminalActivity {
  if (status !== 'AC') return { transactions: 0, amountCents: 0 };
  let h = 2166136261;
  for (const ch of `${tid}${date}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  const transactions = h % 60;
  return { transactions, amountCents: transactions * (500 + ((h >>> 8) % 9500)) };
}

/**
 * TMO's side of the nightly file exchange (BATCH.md), over a local folder: the pick-up of TPU
 * files with their ACK/NAK/DUP answers, and the TERMSTAT snapshot. See src/simulators/README.md.
 */
export function createTmoBatch(opts: TmoBatchOptions): TmoBatch {
  const now = opts.now ?? Date.now;
  const zone = opts.timeZone ?? 'UTC';
  const activity = opts.activity ?? simulatedActivity;
  const used = new Set<string>(opts.usedNames ?? []);
  const history: Pickup[] = [];
  const dir = (sub: string) => join(opts.root, sub);
  let round: Promise<Pickup[]> | null = null;

  /** Answers appear whole: written under a hidden temporary name, then renamed. */
  async function writeAnswer(name: string, content: string): Promise<void> {
    const tmp = join(dir('outbox'), `.${name}.tmp`);
    await writeFile(tmp, content, 'latin1');
    await rename(tmp, join(dir('outbox'), name));
  }

  function record(p: Pickup): Pickup {
    history.push(p);
    if (history.length > 1000) history.shift();
    return p;
  }

  async function pickUp(name: string): Promise<Pickup> {
    const path = join(dir('inbox'), name);
    const bytes = await readFile(path);
    await rm(path, { force: true });
    const base = name.slice(0, -'.DAT'.length);
    const at = now();
    if (used.has(name)) {
      await writeAnswer(`${base}.DUP`, refusalContent('F004'));
      return record({ name, answer: 'DUP', answerPath: `/outbox/${base}.DUP`, reason: 'F004', applied: 0, rejected: 0, at });
    }
    used.add(name);
    const check = checkTpu(name, bytes);
    if (!check.ok) {
      await writeAnswer(`${base}.NAK`, refusalContent(check.reason));
      return record({ name, answer: 'NAK', answerPath: `/outbox/${base}.NAK`, reason: check.reason, applied: 0, rejected: 0, at });
    }
    const seen = new Map<string, number>();
    for (const d of check.details) seen.set(d.tid, (seen.get(d.tid) ?? 0) + 1);
    const lines: AckLine[] = check.details.map((d) => {
      let result: RecordResult;
      const terminal = d.settings === null || (seen.get(d.tid) ?? 0) > 1 ? undefined : opts.state.terminal(d.tid);
      if (d.settings === null || (seen.get(d.tid) ?? 0) > 1) result = 'R101';
      else if (!terminal) result = 'R202';
      else if (terminal.MID !== d.mid) result = 'R101';
      else if (terminal.STATUS === 'DC') result = 'R303';
      else {
        opts.state.applySettings(d.tid, d.settings, { file: name, recordNo: d.recordNo });
        result = '0000';
      }
      return { recordNo: d.recordNo, tid: d.tid, result };
    });
    await writeAnswer(`${base}.ACK`, ackContent(name, yyyymmdd(at, zone), lines));
    const applied = lines.filter((l) => l.result === '0000').length;
    return record({ name, answer: 'ACK', answerPath: `/outbox/${base}.ACK`, applied, rejected: lines.length - applied, at });
  }

  async function runRound(): Promise<Pickup[]> {
    const names = (await readdir(dir('inbox'), { withFileTypes: true }))
      .filter((e) => e.isFile() && e.name.endsWith('.DAT'))
      .map((e) => e.name)
      .sort();
    const out: Pickup[] = [];
    for (const name of names) out.push(await pickUp(name));
    return out;
  }

  return {
    processInbox() {
      round ??= runRound().finally(() => {
        round = null;
      });
      return round;
    },

    async publishTermstat(date) {
      if (!isCalendarDate(date)) throw new RangeError(`publishTermstat: date must be YYYYMMDD, got ${date}`);
      const chunk = opts.termstatChunkRecords ?? 5_000;
      const pause = opts.termstatPauseMs ?? 0;
      const name = `TERMSTAT_${date}`;
      const datPath = join(dir('outbox'), `${name}.DAT`);
      const okPath = join(dir('outbox'), `${name}.OK`);
      // a new delivery under the same name starts without its marker
      await rm(okPath, { force: true });
      const file = await open(datPath, 'w');
      let records = 0;
      let bytes = 0;
      let amountTotal = 0;
      try {
        const write = async (text: string) => {
          await file.write(text, null, 'latin1');
          bytes += text.length;
        };
        await write(termstatHeader(date));
        let buffer = '';
        let inChunk = 0;
        for (const t of opts.state.terminals()) {
          const a = activity(t.TID, date, t.STATUS);
          buffer += termstatDetail({
            tid: t.TID,
            mid: t.MID,
            status: t.STATUS,
            lastSeenDate: t.LAST_SEEN_DATE,
            lastSeenTime: t.LAST_SEEN_TIME,
            transactions: a.transactions,
            amountCents: a.amountCents,
          });
          amountTotal = sumMod12(amountTotal, String(a.amountCents));
          records += 1;
          inChunk += 1;
          if (inChunk >= chunk) {
            await write(buffer);
            buffer = '';
            inChunk = 0;
            await sleep(pause);
          }
        }
        await write(buffer + termstatTrailer(records, amountTotal));
      } finally {
        await file.close();
      }
      await writeFile(okPath, '');
      return { path: `/outbox/${name}.DAT`, records, bytes };
    },

    usedNames: () => [...used],
    pickups: () => [...history],
    async ensureFolders() {
      for (const f of BATCH_FOLDERS) await mkdir(dir(f), { recursive: true });
    },
  };
}

