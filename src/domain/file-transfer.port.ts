import type { Readable } from 'node:stream';

/** One entry of a remote folder listing. `modifiedAt` is epoch ms. */
export interface RemoteEntry {
  name: string;
  type: 'file' | 'dir';
  size: number;
  modifiedAt: number;
}

export interface ReadOptions {
  signal?: AbortSignal;
}

/**
 * Port to the legacy file exchange (TMO's SFTP server, BATCH.md), in file terms: the nightly
 * batch jobs only list, stream, rename and move files. Paths are absolute POSIX paths as the
 * remote side sees them (`/inbox/TPU_20261127_001.DAT`).
 *
 * Failures are GatewayErrors (src/domain/errors): UnavailableError / TimeoutError for transport
 * failures (count toward the breaker, retried later), NotFoundError for a missing file,
 * ConflictError when a rename/move target already exists.
 */
export interface FileTransferPort {
  /** Entries of `dir` (files and folders, no `.`/`..`); [] for an empty folder. */
  list(dir: string): Promise<RemoteEntry[]>;
  /** The entry at `path`, or null when nothing is there. */
  stat(path: string): Promise<RemoteEntry | null>;
  /** Writes `data` to `path` (created or truncated), streaming; resolves once the remote file is closed. */
  upload(path: string, data: Readable | AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<{ bytes: number }>;
  /** Renames `from` to `to`; ConflictError when `to` exists (never overwrites). */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file; no error when it is already gone. */
  remove(path: string): Promise<void>;
  /**
   * Reads `path` as ordered chunks. Implementations may issue parallel reads underneath
   * (SFTP-NOTES.md) but always yield bytes in file order; an inactivity timeout aborts a stalled read.
   */
  read(path: string, options?: ReadOptions): AsyncIterable<Buffer>;
  /** Ends the connection; safe to call twice. */
  close(): Promise<void>;
}
