import type { Redis } from 'ioredis';
import type { Keys } from './keys.ts';
import type { OperationRecord, OperationStore } from './operation-store.ts';
import { openPayload, type PayloadCipher } from './payload.ts';

/**
 * One terminal order at a time per merchant, from its first run until it succeeds or is parked.
 *
 * Why: OrderTerminal has no natural key. After an ambiguous send (timeout, system fault, a
 * killed worker) the terminal service reconciles with ListTerminals and adopts the one new
 * terminal of the ordered model. If another order of the same model for the same merchant ran
 * in between, that terminal is the other order's: the first order then reports success with
 * someone else's terminal, and its own is never created (bench/durability `--same-combo` lost
 * 53 of 1,000 orders this way). Holding the slot across retries makes "new since my snapshot"
 * mean "mine", for every order that goes through the gateway.
 *
 * The slot has no TTL (an order may wait hours for TMO); a holder that is finished or gone
 * (a crash between its last status write and the release) is replaced by the next order.
 */
export interface OrderSlots {
  /** Takes (or keeps) the merchant's slot for this order; false when another live order holds it. */
  acquire(op: OperationRecord): Promise<boolean>;
  /** Gives the slot back, if this operation holds it; no-op for other kinds. */
  release(op: Pick<OperationRecord, 'id' | 'kind' | 'input'>): Promise<void>;
  /**
   * Records that this order's terminal is taken. Called before the order is marked succeeded
   * (a crash in between re-runs it, and claiming again is harmless).
   */
  claim(op: Pick<OperationRecord, 'kind' | 'input'>, terminalId: string): Promise<void>;
  /** Terminals other orders of the merchant own; [] for other kinds. */
  claimedElsewhere(op: Pick<OperationRecord, 'kind' | 'input'>): Promise<string[]>;
}

// KEYS[1] slot. ARGV[1] expected holder, ARGV[2] new holder.
const SWAP_LUA = `if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('set', KEYS[1], ARGV[2]) return 1 else return 0 end`;
const RELEASE_LUA = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export function createOrderSlots(deps: { redis: Redis; keys: Keys; store: OperationStore; cipher: PayloadCipher }): OrderSlots {
  const { redis, keys, store, cipher } = deps;

  function merchantOf(op: Pick<OperationRecord, 'kind' | 'input'>): string | null {
    if (op.kind !== 'terminal.order') return null;
    const input = openPayload(op.input, cipher) as { merchantId?: unknown } | null;
    return typeof input?.merchantId === 'string' ? input.merchantId : null;
  }

  return {
    async acquire(op) {
      const merchantId = merchantOf(op);
      if (merchantId === null) return true;
      const key = keys.orderSlot(merchantId);
      for (let i = 0; i < 3; i++) {
        if ((await redis.set(key, op.id, 'NX')) === 'OK') return true;
        const holder = await redis.get(key);
        if (holder === op.id) return true;
        if (holder === null) continue; // released meanwhile: try again
        const h = await store.get(holder);
        if (h && (h.status === 'queued' || h.status === 'running')) return false;
        // finished or gone without releasing (crash after its last status write): take it over
        if ((await redis.eval(SWAP_LUA, 1, key, holder, op.id)) === 1) return true;
      }
      return false;
    },
    async release(op) {
      const merchantId = merchantOf(op);
      if (merchantId !== null) await redis.eval(RELEASE_LUA, 1, keys.orderSlot(merchantId), op.id);
    },
    async claim(op, terminalId) {
      const merchantId = merchantOf(op);
      if (merchantId !== null) await redis.sadd(keys.claimedTerminals(merchantId), terminalId);
    },
    async claimedElsewhere(op) {
      const merchantId = merchantOf(op);
      return merchantId === null ? [] : redis.smembers(keys.claimedTerminals(merchantId));
    },
  };
}
