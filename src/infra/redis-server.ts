import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A private `redis-server` child process (tests, and the embedded default when no Redis answers). */
export interface PrivateRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export class RedisBinaryMissingError extends Error {
  readonly code = 'REDIS_BINARY_MISSING';
  constructor() {
    super(
      'No REDIS_URL is set, nothing answers on redis://127.0.0.1:6379, and no `redis-server` binary was found on PATH. ' +
        'Either install Redis (Debian/Ubuntu: `apt-get install redis-server`, macOS: `brew install redis`) ' +
        'or point the gateway at a running Redis with REDIS_URL=redis://host:6379.',
    );
    this.name = 'RedisBinaryMissingError';
  }
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** True when something accepts a TCP connection at host:port within `timeoutMs`. */
export function isListening(host: string, port: number, timeoutMs = 300): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/**
 * Starts `redis-server` on a free loopback port with no persistence, in a temp dir.
 * Resolves once it accepts connections. `stop()` is safe to call twice.
 */
export async function startPrivateRedis(opts: { binary?: string } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'lgw-redis-'));
  const child: ChildProcess = spawn(
    opts.binary ?? 'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const spawnError = new Promise<never>((_, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'ENOENT' ? new RedisBinaryMissingError() : err);
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited early with code ${String(code)}`)));
  });
  spawnError.catch(() => undefined);
  const ready = (async () => {
    for (let i = 0; i < 100; i++) {
      if (await isListening('127.0.0.1', port, 200)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not start listening on port ${port}`);
  })();
  try {
    await Promise.race([ready, spawnError]);
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }).finally(() => rmSync(dir, { recursive: true, force: true }));
      return stopped;
    },
  };
}

/** A redis-server with AOF persistence that can be killed, restarted on the same data and paused (benches, fault tests). */
export interface FaultableRedis {
  url: string;
  port: number;
  /** the data directory (kept across restarts) */
  dir: string;
  /** SIGKILL: no shutdown, no final fsync — what an OOM kill or a lost node does */
  kill(): Promise<void>;
  /** starts redis-server again on the same port and data directory (replays the AOF); no-op while it runs */
  restart(): Promise<void>;
  /** SIGSTOP: the process holds its connections but answers nothing (a stall) */
  pause(): void;
  /** SIGCONT */
  resume(): void;
  /** kills it (if running) and removes the data directory; safe to call twice */
  stop(): Promise<void>;
}

/**
 * Starts `redis-server` on a free loopback port with `appendonly yes` and the given `appendfsync`
 * (`everysec` is Redis's default and what the gateway's guarantees are stated for; `always`
 * fsyncs every write).
 */
export async function startFaultableRedis(opts: { appendfsync?: 'everysec' | 'always'; binary?: string } = {}): Promise<FaultableRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'lgw-redis-aof-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', opts.appendfsync ?? 'everysec', '--dir', dir, '--loglevel', 'warning'];
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const start = async () => {
    if (running()) return; // restart() of a running server is a no-op
    const proc = spawn(opts.binary ?? 'redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.once('error', () => undefined);
    for (let i = 0; i < 200; i++) {
      if (await isListening('127.0.0.1', port, 200)) return;
      if (proc.exitCode !== null) throw new Error(`redis-server exited with code ${String(proc.exitCode)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not start listening on port ${port}`);
  };
  const kill = async () => {
    if (running() && child) {
      child.kill('SIGCONT'); // a paused process must be able to die
      child.kill('SIGKILL');
    }
    await exited;
  };
  await start();
  let stopped: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    kill,
    restart: start,
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    stop() {
      stopped ??= kill().finally(() => rmSync(dir, { recursive: true, force: true }));
      return stopped;
    },
  };
}
