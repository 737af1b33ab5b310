// Large-file transfers over one SFTP channel (SFTP-NOTES.md): reads issued `depth` ahead and
// handed over in file order, pipelined writes, and an inactivity watchdog on both, because a
// server that drops a connection silently can leave a request with no callback at all.
import type { SFTPWrapper } from 'ssh2';
import { stalled } from './errors.ts';

const noop = (): void => undefined;

/**
 * Tracks the requests in flight of one transfer and fails them all when none of them has made
 * progress for `ms` (the timer runs only while something is in flight: a slow consumer never
 * counts as a stalled server).
 */
class Watchdog {
  private readonly rejectors = new Set<(err: Error) => void>();
  private last = Date.now();
  private readonly timer: NodeJS.Timeout;
  failure: Error | null = null;

  constructor(
    private readonly ms: number,
    private readonly onStall: (err: Error) => void,
    private readonly makeError: () => Error,
  ) {
    this.timer = setInterval(() => this.check(), Math.max(10, Math.min(1000, Math.floor(ms / 4))));
    this.timer.unref();
  }

  /** Runs one request (`start` gets a node-style completion) under the watchdog. */
  request<T>(start: (done: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.rejectors.size === 0) this.last = Date.now();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        this.rejectors.delete(fail);
        reject(err);
      };
      this.rejectors.add(fail);
      try {
        start((err, value) => {
          if (settled) return;
          settled = true;
          this.rejectors.delete(fail);
          this.last = Date.now();
          if (err) reject(err);
          else resolve(value as T);
        });
      } catch (err) {
        fail(err as Error);
      }
    });
  }

  /** Fails every request in flight (abort, stall) and every later one. */
  failAll(err: Error): void {
    this.failure ??= err;
    for (const fail of [...this.rejectors]) fail(err);
  }

  private check(): void {
    if (this.rejectors.size === 0 || Date.now() - this.last < this.ms) return;
    const err = this.makeError();
    this.failAll(err);
    this.onStall(err);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

export interface TransferSettings {
  /** remote path, for messages */
  path: string;
  /** no progress for this long → the transfer fails with `sftp.stalled` */
  inactivityTimeoutMs: number;
  /** called on a stall, before the transfer's error is thrown (drop the connection: it is unusable) */
  onStall: (err: Error) => void;
  signal?: AbortSignal | undefined;
  /** error for an abort through `signal` */
  aborted: () => Error;
}

export interface ReadSettings extends TransferSettings {
  /** bytes to read: the remote size before the transfer */
  size: number;
  /** reads in flight (1 = sequential) */
  depth: number;
  /** bytes per read (64 KiB) */
  chunkBytes: number;
}

/**
 * Reads `[0, size)` of an open handle with up to `depth` reads in flight, yielding the chunks in
 * file order. A short read is completed by a further read; an early end of file fails with
 * `sftp.truncated` (the file shrank while it was read).
 */
export async function* orderedRead(sftp: SFTPWrapper, handle: Buffer, s: ReadSettings): AsyncGenerator<Buffer> {
  const watchdog = new Watchdog(s.inactivityTimeoutMs, s.onStall, () => stalled('read', s.path, s.inactivityTimeoutMs));
  const onAbort = () => watchdog.failAll(s.aborted());
  s.signal?.addEventListener('abort', onAbort, { once: true });
  const readAt = (buf: Buffer, off: number, len: number, pos: number) =>
    watchdog.request<number>((done) => sftp.read(handle, buf, off, len, pos, (err, bytesRead) => done(err, bytesRead)));

  const readFully = async (pos: number, len: number): Promise<Buffer> => {
    const buf = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const n = await readAt(buf, got, len - got, pos + got);
      if (n === 0) {
        throw Object.assign(new Error(`end of file at ${pos + got}, expected ${s.size} bytes`), { code: 'TRUNCATED' });
      }
      got += n;
    }
    return buf;
  };

  const pending: Array<Promise<Buffer>> = [];
  let next = 0;
  const fill = () => {
    while (pending.length < s.depth && next < s.size) {
      const len = Math.min(s.chunkBytes, s.size - next);
      const p = readFully(next, len);
      p.catch(noop); // awaited in order below; this only keeps a later failure from being "unhandled"
      pending.push(p);
      next += len;
    }
  };
  try {
    if (s.signal?.aborted) throw s.aborted();
    fill();
    for (let head = pending.shift(); head; head = pending.shift()) {
      const chunk = await head;
      fill(); // keep the window full while the consumer works on this chunk
      yield chunk;
    }
  } finally {
    // the consumer stopped early or a read failed: answers still on their way are dropped
    watchdog.failAll(watchdog.failure ?? s.aborted());
    watchdog.stop();
    s.signal?.removeEventListener('abort', onAbort);
  }
}

export interface WriteSettings extends TransferSettings {
  /** writes in flight */
  depth: number;
  /** small chunks are gathered up to this size before a write (64 KiB) */
  chunkBytes: number;
}

/** Writes every chunk of `data` at increasing offsets with up to `depth` writes in flight; returns the byte count. */
export async function pipelinedWrite(
  sftp: SFTPWrapper,
  handle: Buffer,
  data: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  s: WriteSettings,
): Promise<number> {
  const watchdog = new Watchdog(s.inactivityTimeoutMs, s.onStall, () => stalled('write', s.path, s.inactivityTimeoutMs));
  const onAbort = () => watchdog.failAll(s.aborted());
  s.signal?.addEventListener('abort', onAbort, { once: true });
  const inFlight = new Set<Promise<void>>();
  let firstError: Error | null = null;
  let offset = 0;
  let gathered: Buffer[] = [];
  let gatheredBytes = 0;

  const send = async (buf: Buffer) => {
    while (inFlight.size >= s.depth) await Promise.race(inFlight);
    if (firstError) throw firstError;
    const pos = offset;
    offset += buf.length;
    const p = watchdog
      .request<void>((done) => sftp.write(handle, buf, 0, buf.length, pos, (err) => done(err)))
      .catch((err: Error) => {
        firstError ??= err;
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  const flush = async () => {
    if (gatheredBytes === 0) return;
    const buf = gathered.length === 1 ? (gathered[0] as Buffer) : Buffer.concat(gathered, gatheredBytes);
    gathered = [];
    gatheredBytes = 0;
    await send(buf);
  };
  try {
    if (s.signal?.aborted) throw s.aborted();
    for await (const raw of data) {
      if (firstError) throw firstError;
      if (watchdog.failure) throw watchdog.failure;
      const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      if (chunk.length === 0) continue;
      // copy: the caller may reuse its buffer once we move on
      gathered.push(Buffer.from(chunk));
      gatheredBytes += chunk.length;
      if (gatheredBytes >= s.chunkBytes) await flush();
    }
    await flush();
    while (inFlight.size > 0) await Promise.race(inFlight);
    if (firstError) throw firstError;
    return offset;
  } finally {
    if (inFlight.size > 0) watchdog.failAll(watchdog.failure ?? s.aborted());
    watchdog.stop();
    s.signal?.removeEventListener('abort', onAbort);
  }
}
