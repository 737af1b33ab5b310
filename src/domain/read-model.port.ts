import type { Merchant } from './model.ts';
import type { MerchantTerminal } from './services/types.ts';

/** What the last-known store keeps, by kind. */
export interface LastKnownEntities {
  terminal: MerchantTerminal;
  merchant: Merchant;
}

export type LastKnownKind = keyof LastKnownEntities;

/** A copy and when the legacy system last confirmed it (ms since the epoch). */
export interface LastKnown<T> {
  value: T;
  confirmedAt: number;
}

/**
 * The last-known copy of every terminal and merchant read or written through the gateway,
 * used to answer reads while their legacy system is down (stale-if-error, docs/DECISIONS.md).
 */
export interface LastKnownPort {
  /**
   * Records a copy the legacy system confirmed at `confirmedAt` (ms; default now — for a read, when
   * it was sent), unless a copy confirmed later is already kept. Never throws and never makes the caller wait.
   */
  remember<K extends LastKnownKind>(kind: K, id: string, value: LastKnownEntities[K], confirmedAt?: number): void;
  /**
   * Drops the copy of a resource the legacy system says does not exist (any more): a later
   * outage must not answer it. Never throws and never makes the caller wait.
   */
  forget(kind: LastKnownKind, id: string): void;
  /** The copy, or null when there is none (never seen, expired, or the store is unreachable). */
  recall<K extends LastKnownKind>(kind: K, id: string): Promise<LastKnown<LastKnownEntities[K]> | null>;
}
