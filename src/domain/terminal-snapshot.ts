import type { LifecycleStatus, Money } from './model.ts';
import type { LastKnown } from './read-model.port.ts';
import type { MerchantTerminal } from './services/types.ts';

/**
 * The daily terminal snapshot (TMO's TERMSTAT file) in clean terms, and the seams the import
 * job uses to read it without knowing the legacy layout: a {@link TerminalSnapshotFormat}
 * (names, folders, a streaming parser) is implemented by `src/translators/batch/termstat.ts`
 * and handed to the job by the composition root.
 */

/** One terminal as the snapshot saw it. */
export interface TerminalSnapshotRecord {
  terminalId: string;
  tmoMerchantId: string;
  status: LifecycleStatus;
  /** ISO 8601 instant, null when the terminal was never seen */
  lastSeenAt: string | null;
  /** transactions on the snapshot date */
  transactionCount: number;
  /** amount on the snapshot date */
  amount: Money;
  /** 1-based record (line) number in the file, for error reports */
  line: number;
}

/** What the trailer confirmed once every record was read. */
export interface TerminalSnapshotSummary {
  /** ISO date `YYYY-MM-DD` from the header */
  snapshotDate: string;
  records: number;
  /** sum of the amounts modulo 10^12, euro cents */
  amountTotal: number;
}

/**
 * Receives records without an object per record (the 2,000,000-record import): the identifiers
 * are ASCII bytes in `bytes`, valid only during the call.
 */
export interface TerminalSnapshotSink {
  /**
   * One valid record: `terminalId` is `bytes[tidAt, tidAt + TERMINAL_ID_BYTES)`, `tmoMerchantId`
   * `bytes[midAt, midAt + MERCHANT_ID_BYTES)`; `lastSeenMs` epoch ms, NaN when never seen;
   * `amount` euro cents; `line` as in {@link TerminalSnapshotRecord}.
   */
  record(
    bytes: Uint8Array,
    tidAt: number,
    midAt: number,
    status: LifecycleStatus,
    lastSeenMs: number,
    transactionCount: number,
    amount: number,
    line: number,
  ): void;
}

/** Widths of the identifiers a {@link TerminalSnapshotSink} receives as bytes. */
export const TERMINAL_ID_BYTES = 8;
export const MERCHANT_ID_BYTES = 15;

/**
 * Push-style streaming parser: feed chunks in file order, take the records each chunk completed.
 * Memory stays constant (at most one partial record is carried between chunks). Any layout or
 * total fault throws a CorruptFileError naming the line.
 */
export interface TerminalSnapshotParser {
  /** ISO snapshot date once the header was read, else null */
  readonly snapshotDate: string | null;
  /** records completed by this chunk (may be empty) */
  push(chunk: Uint8Array): TerminalSnapshotRecord[];
  /** the same as `push`, the records handed to `sink` one by one; returns how many */
  pushTo(chunk: Uint8Array, sink: TerminalSnapshotSink): number;
  /** end of input: checks the trailer was there, last, and matched */
  end(): TerminalSnapshotSummary;
}

/** The snapshot file conventions of the legacy side (names, folders, layout). */
export interface TerminalSnapshotFormat {
  /** where the legacy side puts snapshots, and where processed/corrupt ones go */
  readonly folders: { readonly outbox: string; readonly archive: string; readonly error: string };
  /** a data or marker file name → its snapshot date (ISO), or null for any other name */
  match(name: string): { snapshotDate: string; role: 'data' | 'marker' } | null;
  /** file names of a snapshot date (ISO `YYYY-MM-DD`) */
  names(snapshotDate: string): { data: string; marker: string };
  createParser(options: { expectedDate?: string }): TerminalSnapshotParser;
}

/** A terminal's activity on the latest snapshot's date. */
export interface TerminalActivity {
  /** ISO date of the snapshot */
  date: string;
  transactionCount: number;
  amount: Money;
}

/** What the latest applied snapshot says about one terminal. */
export interface TerminalSnapshotView {
  /** the terminal's status in the snapshot */
  status: LifecycleStatus;
  /**
   * ISO 8601 instant TMO took the snapshot no earlier than: the end of the snapshot date in the
   * legacy time zone (the file counts that whole day's transactions, so it is written after it).
   * A lower bound: the status held at some time at or after it.
   */
  takenAfter: string;
  /** ISO 8601 instant, null when never seen */
  lastSeenAt: string | null;
  activity: TerminalActivity;
}

/**
 * The terminal a stale-if-error read answers with (docs/DECISIONS.md "Reads that survive a
 * legacy outage"): the last-known copy, with the snapshot's status when TMO took the snapshot
 * after the copy was confirmed (`takenAfter` later than `confirmedAt`: the snapshot is TMO's
 * later word). A tie or an earlier snapshot leaves the copy as it is. The rest of the copy (model,
 * serial number, merchant) is not in the snapshot and stays as confirmed, so the answer's `Age`
 * still counts from `confirmedAt`: counting from the snapshot would understate it for them.
 * `lastSeenAt` needs no rule: the API shows the later of the two anyway.
 */
export function reconcileWithSnapshot(copy: LastKnown<MerchantTerminal>, view: TerminalSnapshotView | null): MerchantTerminal {
  if (view === null || view.status === copy.value.status) return copy.value;
  const takenAfter = Date.parse(view.takenAfter);
  return Number.isFinite(takenAfter) && takenAfter > copy.confirmedAt ? { ...copy.value, status: view.status } : copy.value;
}

/** Read side of the snapshot read model (the API's view of the latest snapshot). */
export interface TerminalActivityPort {
  /** null before the first snapshot, or when the terminal is not in the latest one */
  getTerminalActivity(terminalId: string): Promise<TerminalSnapshotView | null>;
}
