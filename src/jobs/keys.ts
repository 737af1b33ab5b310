/**
 * Redis key layout of the job layer, all under one prefix (default `lgw`):
 *
 * | key | type | what |
 * | --- | --- | --- |
 * | `{p}:op:{id}` | hash | operation record (input sealed, progress, steps, resource, error) |
 * | `{p}:op:{id}:lease` | string, PX | who is running the operation now (inline request or a worker) |
 * | `{p}:order-slot:{merchantId}` | string | the one terminal order of that merchant allowed to send (operation id) |
 * | `{p}:dl:{id}` | hash | dead letter of operation `{id}` (same id), with its state |
 * | `{p}:order-claimed:{merchantId}` | set | terminal ids that succeeded orders of the merchant own (never adopted by another order) |
 * | `{p}:dl:index` | zset | dead letter ids scored by last failure time (ms): time filters and cursors |
 * | `{p}:audit` | stream | ops audit trail (who, when, action, target, outcome) |
 * | `{p}:bull:ops-tmo:*`, `{p}:bull:ops-crm:*` | BullMQ | the two queues (BullMQ prefix `{p}:bull`) |
 */
export function createKeys(prefix: string) {
  return {
    operation: (id: string) => `${prefix}:op:${id}`,
    lease: (id: string) => `${prefix}:op:${id}:lease`,
    orderSlot: (merchantId: string) => `${prefix}:order-slot:${merchantId}`,
    claimedTerminals: (merchantId: string) => `${prefix}:order-claimed:${merchantId}`,
    deadLetter: (id: string) => `${prefix}:dl:${id}`,
    deadLetterIndex: `${prefix}:dl:index`,
    audit: `${prefix}:audit`,
    bullPrefix: `${prefix}:bull`,
  } as const;
}

export type Keys = ReturnType<typeof createKeys>;

export const DEFAULT_PREFIX = 'lgw';
