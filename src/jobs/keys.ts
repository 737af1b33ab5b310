/**
 * Redis key layout of the gateway, all under one prefix `p` (default `lgw`) written as a Redis
 * Cluster **hash tag**: every key starts with `{p}`, so every key of one gateway deployment
 * hashes to the same slot. That is what lets each Lua script and MULTI below name several keys
 * (a lease and its owner's liveness key, an idempotency record and its owner's liveness key,
 * an order slot, BullMQ's own multi-key scripts) on a Cluster as on a single Redis. The price is
 * that one deployment's keys live on one shard; scale the shards by running deployments with
 * different prefixes, not by spreading one deployment's keys.
 *
 * | key | type | what |
 * | --- | --- | --- |
 * | `{p}:op:{id}` | hash | operation record (input sealed, progress, steps, resource, error) |
 * | `{p}:op:{id}:lease` | string, PX | who is running the operation now: `{instance}|{token}` |
 * | `{p}:instance:{id}` | string, PX | liveness of one gateway/worker process, renewed by its heartbeat |
 * | `{p}:idem:{hash}` | string, EX | idempotency record of one (caller, method, path, key) |
 * | `{p}:order-slot:{merchantId}` | string | the one terminal order of that merchant allowed to send (operation id) |
 * | `{p}:order-claimed:{merchantId}` | set | terminal ids that succeeded orders of the merchant own (never adopted by another order) |
 * | `{p}:dl:{id}` | hash | dead letter of operation `{id}` (same id), with its state |
 * | `{p}:dl:index` | zset | dead letter ids scored by last failure time (ms): time filters and cursors |
 * | `{p}:audit` | stream | ops audit trail (who, when, action, target, outcome) |
 * | `{p}:pace:{system}` | string, PX | the queued calls' shared rate of `tmo` or `crm` (`call-pacing.ts`, built in `gateway.ts`) |
 * | `{p}:bull:ops-tmo:*`, `{p}:bull:ops-crm:*` | BullMQ | the two queues (BullMQ prefix `{p}:bull`) |
 *
 * Multi-key commands, all on keys above (so on one slot): `operation-store.ts` (MULTI on one
 * record; the lease scripts on the lease + the holder's liveness key; `finishSucceeded` on the
 * record, its dead letter, its lease and, when under this prefix, the resource's last-known copy
 * `{p}:lk:{kind}:{id}` of `last-known.ts`), `order-slots.ts` (one key
 * per script), `dead-letters.ts`, `src/api/idempotency` (record + the owner's liveness key), and
 * BullMQ's scripts (its keys all carry the `{p}:bull` prefix).
 */
export function createKeys(prefix: string) {
  // A prefix that already holds a hash tag is kept as it is (a caller that chose its own tag).
  const p = /\{[^}]+\}/.test(prefix) ? prefix : `{${prefix}}`;
  return {
    /** the hash-tagged prefix every key starts with */
    prefix: p,
    operation: (id: string) => `${p}:op:${id}`,
    lease: (id: string) => `${p}:op:${id}:lease`,
    instance: (id: string) => `${p}:instance:${id}`,
    /** prefix of the idempotency records (`src/api/idempotency` appends a hash) */
    idempotencyPrefix: `${p}:idem:`,
    orderSlot: (merchantId: string) => `${p}:order-slot:${merchantId}`,
    claimedTerminals: (merchantId: string) => `${p}:order-claimed:${merchantId}`,
    deadLetter: (id: string) => `${p}:dl:${id}`,
    deadLetterIndex: `${p}:dl:index`,
    audit: `${p}:audit`,
    bullPrefix: `${p}:bull`,
  } as const;
}

export type Keys = ReturnType<typeof createKeys>;

export const DEFAULT_PREFIX = 'lgw';
