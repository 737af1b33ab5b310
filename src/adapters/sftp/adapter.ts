// FileTransferPort over TMO's SFTP server (BATCH.md, SFTP-NOTES.md) with ssh2-sftp-client for
// the connection and ssh2's SFTP channel for the transfers.
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SFTPWrapper, Stats } from 'ssh2';
import SftpClient from 'ssh2-sftp-client';
import { ConflictError, NotFoundError, UnavailableError, type GatewayError } from '../../domain/errors/index.ts';
import type { FileTransferPort, ReadOptions, RemoteEntry } from '../../domain/file-transfer.port.ts';
import {
  adapterControls,
  createResilience,
  type AdapterControls,
  type AdapterLogger,
  type BreakerOptions,
  type BulkheadOptions,
} from '../soap/resilience.ts';
import { isConnectionFailure, SFTP_STATUS, sftpStatus, timedOut, toDomainError } from './errors.ts';
import { keyTypeOf, knownHostKeys, sha256Fingerprint } from './host-key.ts';
import { orderedRead, pipelinedWrite } from './transfer.ts';

/** How the server's host key is pinned (exactly one). */
export type HostKeyPin =
  /** OpenSSH fingerprints `SHA256:<base64>` (as `ssh-keygen -lf` prints); several during a key rotation */
  | { sha256: readonly string[] }
  /** an OpenSSH known_hosts file, read at each connect */
  | { knownHostsFile: string };

export interface SftpAdapterOptions {
  host: string;
  /** default 22 */
  port?: number;
  username: string;
  /** OpenSSH or PEM private key (the key itself, not a path) */
  privateKey: string | Buffer;
  hostKey: HostKeyPin;
  /** TCP connect + SSH handshake + auth, per attempt (default 10,000 ms) */
  connectTimeoutMs?: number;
  /** connect attempts per call before giving up (default 3), with exponential backoff and jitter */
  connectAttempts?: number;
  /** first backoff between connect attempts (default 500 ms; doubles, at most 10 s) */
  connectBackoffMs?: number;
  /** list, stat, rename, remove, open, close (default 30,000 ms) */
  operationTimeoutMs?: number;
  /** a transfer with requests in flight and no progress for this long fails `sftp.stalled` (default 30,000 ms) */
  inactivityTimeoutMs?: number;
  /** reads of `readChunkBytes` issued ahead by `read()` (default 64; 1 = sequential, for servers that fail on concurrent reads) */
  readDepth?: number;
  /** default 65,536 */
  readChunkBytes?: number;
  /** writes in flight during `upload()` (default 16) */
  writeDepth?: number;
  /** the connection is closed after this long without a call (default 60,000 ms): one connection serves a whole run */
  idleCloseMs?: number;
  breaker?: BreakerOptions;
  bulkhead?: BulkheadOptions;
  logger?: AdapterLogger;
}

/** The SFTP FileTransferPort plus the breaker view the ops API shows (system `sftp`). */
export type SftpAdapter = FileTransferPort & AdapterControls;

export const SFTP_DEFAULTS = {
  port: 22,
  connectTimeoutMs: 10_000,
  connectAttempts: 3,
  connectBackoffMs: 500,
  operationTimeoutMs: 30_000,
  inactivityTimeoutMs: 30_000,
  readDepth: 64,
  readChunkBytes: 64 * 1024,
  writeDepth: 16,
  idleCloseMs: 60_000,
  breaker: { errorThresholdPercentage: 50, volumeThreshold: 5, resetTimeoutMs: 30_000, rollingWindowMs: 60_000 },
  bulkhead: { limit: 16, maxQueue: 256 },
} as const;

const SYSTEM = 'sftp';
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

interface Connection {
  client: SftpClient;
  sftp: SFTPWrapper;
  dead: boolean;
}

const call = <T>(fn: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> =>
  new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));

/**
 * Creates the SFTP adapter. Nothing connects until the first call; then one connection is kept
 * and shared by every call until it has been idle for `idleCloseMs`, breaks, or `close()`.
 * Failures are the port's domain errors; unavailable/timeout ones count toward the breaker.
 */
export function createSftpAdapter(options: SftpAdapterOptions): SftpAdapter {
  const o = { ...SFTP_DEFAULTS, ...options, port: options.port ?? SFTP_DEFAULTS.port };
  const where = `${o.host}:${o.port}`;
  const log = o.logger;
  const resilience = createResilience({ system: SYSTEM, breaker: o.breaker, bulkhead: o.bulkhead, logger: log });
  let conn: Connection | null = null;
  let connecting: Promise<Connection> | null = null;
  let active = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  let closed = false;

  async function trustedKeys(): Promise<{ trusted: Set<string>; revoked: Set<string> }> {
    if ('sha256' in o.hostKey) return { trusted: new Set(o.hostKey.sha256), revoked: new Set() };
    let text: string;
    try {
      text = await readFile(o.hostKey.knownHostsFile, 'utf8');
    } catch (err) {
      throw new UnavailableError('sftp.known_hosts_unreadable', `SFTP known_hosts file ${o.hostKey.knownHostsFile} cannot be read`, {
        system: SYSTEM,
        retryable: false,
        cause: err,
      });
    }
    return knownHostKeys(text, o.host, o.port);
  }

  function drop(c: Connection, how: 'end' | 'destroy'): void {
    if (conn === c) conn = null;
    if (c.dead) return;
    c.dead = true;
    if (how === 'destroy') destroySocket(c.client);
    else c.client.end().catch(() => destroySocket(c.client));
  }

  async function connectOnce(): Promise<Connection> {
    const keys = await trustedKeys();
    let refused: { fingerprint: string; type: string; revoked: boolean } | null = null;
    let c: Connection | null = null;
    const markDead = () => {
      if (c) {
        c.dead = true;
        if (conn === c) conn = null;
      }
    };
    const client = new SftpClient(SYSTEM, {
      error: (err: unknown) => {
        log?.warn({ event: 'sftp_connection_error', system: SYSTEM, err: (err as Error)?.message }, 'SFTP connection error');
        markDead();
      },
      end: markDead,
      close: markDead,
    });
    try {
      const sftp = (await client.connect({
        host: o.host,
        port: o.port,
        username: o.username,
        privateKey: o.privateKey,
        readyTimeout: o.connectTimeoutMs,
        keepaliveInterval: 15_000,
        keepaliveCountMax: 4,
        hostVerifier: (key: Buffer) => {
          const fingerprint = sha256Fingerprint(key);
          const revoked = keys.revoked.has(fingerprint);
          if (!revoked && keys.trusted.has(fingerprint)) return true;
          refused = { fingerprint, type: keyTypeOf(key), revoked };
          return false;
        },
      })) as unknown as SFTPWrapper;
      // request/answer protocol: Nagle + delayed ACKs would add ≈40 ms to every round trip
      (client as unknown as { client: { setNoDelay(v: boolean): void } }).client.setNoDelay(true);
      c = { client, sftp, dead: false };
      return c;
    } catch (err) {
      destroySocket(client);
      const seen = refused as { fingerprint: string; type: string; revoked: boolean } | null;
      if (seen) {
        const why = seen.revoked ? 'is revoked' : 'is not the pinned key (unknown or changed host key)';
        log?.error({ event: 'sftp_host_key_refused', system: SYSTEM, host: where, fingerprint: seen.fingerprint }, 'SFTP host key refused');
        throw new UnavailableError(
          'sftp.host_key_refused',
          `SFTP server ${where} presented host key ${seen.fingerprint} (${seen.type}), which ${why}; refusing to connect`,
          { system: SYSTEM, retryable: false },
        );
      }
      const message = err instanceof Error ? err.message : String(err);
      if (/authentication/i.test(message)) {
        throw new UnavailableError('sftp.auth_failed', `SFTP server ${where} refused the key of user ${o.username}`, {
          system: SYSTEM,
          retryable: false,
        });
      }
      throw new UnavailableError('sftp.unavailable', `SFTP server ${where} cannot be reached (${message})`, { system: SYSTEM, cause: err });
    }
  }

  async function connectWithBackoff(): Promise<Connection> {
    for (let attempt = 1; ; attempt++) {
      try {
        const c = await connectOnce();
        if (closed) {
          drop(c, 'end');
          throw new UnavailableError('sftp.closed', 'The SFTP adapter is shut down', { system: SYSTEM });
        }
        conn = c;
        return c;
      } catch (err) {
        const e = err as GatewayError;
        if (!e.retryable || attempt >= o.connectAttempts || closed) throw err;
        const delay = Math.min(10_000, o.connectBackoffMs * 2 ** (attempt - 1));
        log?.warn({ event: 'sftp_reconnect', system: SYSTEM, attempt, delayMs: delay }, 'SFTP connect failed, retrying');
        await sleep(delay / 2 + Math.random() * (delay / 2));
      }
    }
  }

  function connection(): Promise<Connection> {
    if (conn && !conn.dead) return Promise.resolve(conn);
    connecting ??= connectWithBackoff().finally(() => {
      connecting = null;
    });
    return connecting;
  }

  function idle(): void {
    if (idleTimer) clearTimeout(idleTimer);
    if (active > 0) return;
    idleTimer = setTimeout(() => {
      if (active === 0 && conn) drop(conn, 'end');
    }, o.idleCloseMs);
    idleTimer.unref();
  }

  /** Runs `task` on the shared connection through the breaker; `timeoutMs` 0 = none (transfers have their watchdog). */
  function run<T>(name: string, path: string, task: (c: Connection) => Promise<T>, timeoutMs = o.operationTimeoutMs, signal?: AbortSignal): Promise<T> {
    active += 1;
    if (idleTimer) clearTimeout(idleTimer);
    return resilience
      .run(async () => {
        const c = await connection();
        let timer: NodeJS.Timeout | undefined;
        try {
          const work = task(c);
          if (timeoutMs <= 0) return await work;
          return await Promise.race([
            work,
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => {
                drop(c, 'destroy'); // the answer may never come: this connection is unusable
                reject(timedOut(name, path, timeoutMs));
              }, timeoutMs);
            }),
          ]);
        } catch (err) {
          if (isConnectionFailure(err) && !(err as GatewayError).kind) drop(c, 'destroy');
          throw toDomainError(err, name, path);
        } finally {
          if (timer) clearTimeout(timer);
        }
      }, signal)
      .finally(() => {
        active -= 1;
        idle();
      });
  }

  const toEntry = (name: string, a: { mode: number; size: number; mtime: number }): RemoteEntry => ({
    name,
    type: (a.mode & S_IFMT) === S_IFDIR ? 'dir' : 'file',
    size: a.size,
    modifiedAt: a.mtime * 1000,
  });
  const basename = (path: string) => path.slice(path.lastIndexOf('/') + 1);
  const statOrNull = (sftp: SFTPWrapper, path: string): Promise<Stats | null> =>
    call<Stats>((cb) => sftp.stat(path, cb)).catch((err: unknown) => {
      if (sftpStatus(err) === SFTP_STATUS.NO_SUCH_FILE) return null;
      throw err;
    });
  const aborted = () => new UnavailableError('sftp.aborted', 'The SFTP transfer was cancelled', { system: SYSTEM, retryable: false });

  const controls = adapterControls(SYSTEM, resilience, { close: () => undefined }, log);

  async function* read(path: string, options: ReadOptions = {}): AsyncGenerator<Buffer> {
    // The whole transfer holds one bulkhead slot and is one breaker call: it settles when the
    // transfer ends, so a stall or a dropped connection counts as a failure of the system.
    let settle!: (err?: unknown) => void;
    const transfer = new Promise<void>((resolve, reject) => {
      settle = (err) => (err === undefined ? resolve() : reject(err as Error));
    });
    let opened!: (v: { c: Connection; handle: Buffer; size: number }) => void;
    const ready = new Promise<{ c: Connection; handle: Buffer; size: number }>((r) => (opened = r));
    const outcome = run(
      'read',
      path,
      async (c) => {
        const at = await withTimeout(
          (async () => {
            const st = await call<Stats>((cb) => c.sftp.stat(path, cb));
            if ((st.mode & S_IFMT) === S_IFDIR) throw new NotFoundError('file.not_found', `SFTP read ${path}: is a folder`, { system: SYSTEM });
            const handle = await call<Buffer>((cb) => c.sftp.open(path, 'r', cb));
            return { c, handle, size: st.size };
          })(),
          c,
          'open',
          path,
        );
        opened(at);
        await transfer;
      },
      0,
      options.signal,
    );
    outcome.catch(() => undefined);
    const { c, handle, size } = await Promise.race([ready, outcome.then(() => never<{ c: Connection; handle: Buffer; size: number }>())]);
    let failure: unknown;
    let closeHandle = true;
    try {
      yield* orderedRead(c.sftp, handle, {
        path,
        size,
        depth: Math.max(1, o.readDepth),
        chunkBytes: o.readChunkBytes,
        inactivityTimeoutMs: o.inactivityTimeoutMs,
        signal: options.signal,
        aborted,
        onStall: () => {
          closeHandle = false;
          drop(c, 'destroy');
        },
      });
      // completeness, independent of the transport: the size must not have moved meanwhile
      const after = await withTimeout(call<Stats>((cb) => c.sftp.fstat(handle, cb)), c, 'fstat', path);
      if (after.size !== size) {
        throw new UnavailableError('sftp.file_changed', `SFTP read ${path}: size changed from ${size} to ${after.size} bytes during the transfer`, {
          system: SYSTEM,
        });
      }
    } catch (err) {
      failure = err;
      if ((err as { code?: unknown }).code === 'TRUNCATED') {
        failure = new UnavailableError('sftp.file_changed', `SFTP read ${path}: the file shrank during the transfer (${(err as Error).message})`, {
          system: SYSTEM,
        });
      }
    } finally {
      // close the handle and wait for the server's answer before anyone ends the connection
      if (closeHandle && !c.dead) {
        await withTimeout(call<void>((cb) => c.sftp.close(handle, cb)), c, 'close', path).catch(() => undefined);
      }
      settle(failure === undefined ? undefined : toDomainError(failure, 'read', path));
    }
    await outcome;
  }

  function withTimeout<T>(p: Promise<T>, c: Connection, name: string, path: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          drop(c, 'destroy');
          reject(timedOut(name, path, o.operationTimeoutMs));
        }, o.operationTimeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  return {
    list: (dir) =>
      run('list', dir, async (c) => {
        const entries = await call<Array<{ filename: string; attrs: { mode: number; size: number; mtime: number } }>>((cb) =>
          c.sftp.readdir(dir, cb),
        );
        return entries.filter((e) => e.filename !== '.' && e.filename !== '..').map((e) => toEntry(e.filename, e.attrs));
      }),

    stat: (path) =>
      run('stat', path, async (c) => {
        const st = await statOrNull(c.sftp, path);
        return st === null ? null : toEntry(basename(path), st);
      }),

    upload: (path, data) =>
      run(
        'upload',
        path,
        async (c) => {
          const handle = await withTimeout(call<Buffer>((cb) => c.sftp.open(path, 'w', cb)), c, 'open', path);
          let closeHandle = true;
          try {
            const bytes = await pipelinedWrite(c.sftp, handle, data, {
              path,
              depth: Math.max(1, o.writeDepth),
              chunkBytes: o.readChunkBytes,
              inactivityTimeoutMs: o.inactivityTimeoutMs,
              aborted,
              onStall: () => {
                closeHandle = false;
                drop(c, 'destroy');
              },
            });
            // the file is complete only once the server has closed it
            closeHandle = false;
            await withTimeout(call<void>((cb) => c.sftp.close(handle, cb)), c, 'close', path);
            return { bytes };
          } finally {
            if (closeHandle && !c.dead) await withTimeout(call<void>((cb) => c.sftp.close(handle, cb)), c, 'close', path).catch(() => undefined);
          }
        },
        0,
      ),

    rename: (from, to) =>
      run('rename', `${from} → ${to}`, async (c) => {
        // SFTP v3 RENAME fails when the target exists on OpenSSH (link + unlink); the check first
        // also covers servers that would silently replace it
        if ((await statOrNull(c.sftp, to)) !== null) throw new ConflictError('file.exists', `SFTP rename: ${to} exists`, { system: SYSTEM });
        try {
          await call<void>((cb) => c.sftp.rename(from, to, cb));
        } catch (err) {
          if (sftpStatus(err) === undefined) throw err;
          if ((await statOrNull(c.sftp, to)) !== null) throw new ConflictError('file.exists', `SFTP rename: ${to} exists`, { system: SYSTEM });
          if ((await statOrNull(c.sftp, from)) === null) throw new NotFoundError('file.not_found', `SFTP rename: no file ${from}`, { system: SYSTEM });
          throw err;
        }
      }),

    remove: (path) =>
      run('remove', path, async (c) => {
        try {
          await call<void>((cb) => c.sftp.unlink(path, cb));
        } catch (err) {
          if (sftpStatus(err) !== SFTP_STATUS.NO_SUCH_FILE) throw err;
        }
      }),

    read,

    circuit: controls.circuit,
    circuitState: controls.circuitState,
    onStateChange: controls.onStateChange,
    async close() {
      if (closed) return;
      closed = true;
      if (idleTimer) clearTimeout(idleTimer);
      await controls.close();
      const c = conn;
      conn = null;
      if (c && !c.dead) {
        c.dead = true;
        await Promise.race([c.client.end().catch(() => undefined), sleep(2_000)]);
        destroySocket(c.client);
      }
    },
  };
}

/** ssh2-sftp-client keeps its ssh2 Client as `client` (untyped): destroying it drops the socket at once. */
function destroySocket(client: SftpClient): void {
  (client as unknown as { client: { destroy(): void } }).client.destroy();
}

function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}
