import { GatewayError, type GatewayErrorOptions } from './gateway-error.ts';

/**
 * A legacy batch file that breaks its own layout or totals (BATCH.md): nothing of it may be
 * applied. `line` is the 1-based record number where the fault was found (null when the fault
 * is the file as a whole, e.g. a missing trailer found at the end); `reason` says what is wrong
 * in operator terms. Never retried: the same bytes stay corrupt.
 */
export class CorruptFileError extends GatewayError {
  readonly kind = 'translation' as const;
  readonly line: number | null;
  readonly reason: string;

  constructor(reason: string, line: number | null, options: GatewayErrorOptions = {}) {
    super('batch.file_corrupt', line === null ? reason : `line ${line}: ${reason}`, false, options);
    this.line = line;
    this.reason = reason;
  }
}
