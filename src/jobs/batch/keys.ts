import { createKeys } from '../keys.ts';

/**
 * Redis keys of the settings-file exchange. Every key sits on the deployment's hash tag (`{p}`,
 * src/jobs/keys.ts) like the operation records, so the multi-key scripts (accept, which writes
 * the operation record and the change in one step; claim, release, result) run on one Redis
 * Cluster slot, and so does the scheduler queue (its BullMQ prefix is `bullPrefix`).
 * `{b}` below is `{p}:batch:tpu`.
 *
 * | key | type | what |
 * | --- | --- | --- |
 * | `{b}:lock` | string, PX | who runs the exchange now (export or answers; one at a time across processes) |
 * | `{b}:seq:{YYYYMMDD}` | counter | last sequence number used that day (INCR: never reused) |
 * | `{b}:pending` | hash | terminal id → operation id of its latest accepted change not yet in a file |
 * | `{b}:change:{opId}` | hash | one change: terminal, MID, settings, state, file, record no, resends, reason |
 * | `{b}:terminal:{tid}` | hash | settings last applied by TMO (from ACKs) and the latest change's operation id |
 * | `{b}:file:{name}` | hash | the ledger entry of a file: state, counts, times, answer |
 * | `{b}:file:{name}:records` | list | operation ids in record order (record no = index + 1) |
 * | `{b}:file:{name}:terminals` | set | terminal ids claimed into the file, while it is being claimed (a TID at most once per file) |
 * | `{b}:files` | zset | file names by creation time (ms) |
 * | `{b}:open` | set | files not answered yet (uploading, uploaded, sent) |
 * | `{b}:scheduled-export` | hash | `since` (ms: the export schedule was first registered), `lastSuccessAt` (ms: the last scheduled export that ended sent or nothing_pending); one key, overwritten |
 */
export function createBatchKeys(prefix: string) {
  const b = `${createKeys(prefix).prefix}:batch:tpu`;
  return {
    lock: `${b}:lock`,
    seq: (compactDate: string) => `${b}:seq:${compactDate}`,
    pending: `${b}:pending`,
    change: (operationId: string) => `${b}:change:${operationId}`,
    terminal: (terminalId: string) => `${b}:terminal:${terminalId}`,
    file: (name: string) => `${b}:file:${name}`,
    fileRecords: (name: string) => `${b}:file:${name}:records`,
    fileTerminals: (name: string) => `${b}:file:${name}:terminals`,
    files: `${b}:files`,
    open: `${b}:open`,
    changeOrder: `${b}:change-order`,
    scheduledExport: `${b}:scheduled-export`,
    bullPrefix: `${b}:bull`,
  } as const;
}

export type BatchKeys = ReturnType<typeof createBatchKeys>;
