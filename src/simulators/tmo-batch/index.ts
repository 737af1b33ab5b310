/**
 * TMO's side of the nightly file exchange (../shared/legacy/BATCH.md), independent of the
 * gateway's writer and parser: TPU pick-up with ACK/NAK/DUP answers, TERMSTAT publishing, and a
 * synthetic TERMSTAT generator for benches. See ../README.md ("TMO batch").
 */
export { createTmoBatch, simulatedActivity, BATCH_FOLDERS } from './processor.ts';
export type { Pickup, TerminalActivity, TmoBatch, TmoBatchOptions } from './processor.ts';
export { syntheticTermstat, syntheticTid, writeSyntheticTermstat } from './generator.ts';
export type { SyntheticTermstatOptions } from './generator.ts';
export { checkTpu, ackContent, refusalContent, termstatDetail, termstatHeader, termstatTrailer } from './layouts.ts';
export type { RecordResult, RefusalReason, TermstatDetail, TpuCheck, TpuDetail } from './layouts.ts';
