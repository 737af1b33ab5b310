// An in-process SFTP server (ssh2's Server) over a local folder: TMO's SFTP side for the
// embedded mode, tests and benches. Key-only login, the folder as `/` (no way out of it), and
// the SFTP v3 operations ssh2-sftp-client and OpenSSH's sftp use.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rmdir, stat, lstat, unlink, link, type FileHandle } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join, posix } from 'node:path';
import ssh2 from 'ssh2';
import type { Attributes, Connection, FileEntry, ParsedKey, SFTPWrapper } from 'ssh2';

const { Server, utils } = ssh2;
const STATUS = utils.sftp.STATUS_CODE;

/** Injected misbehaviour of the SFTP server (for the gateway's timeouts and breaker). */
export interface SftpServerFaults {
  /** READ requests at or beyond this offset are never answered (a server that stalls) */
  stallReadsFromOffset?: number;
  /** every new connection is dropped right after the TCP accept (an unreachable server) */
  refuseConnections?: boolean;
}

export interface SftpServerOptions {
  /** folder served as `/` */
  root: string;
  /** the one user name that may log in (default `gateway`) */
  username?: string;
  /** OpenSSH public key lines (`ssh-ed25519 AAAA… comment`) allowed to log in */
  authorizedKeys: ReadonlyArray<string | Buffer>;
  /** private host key (OpenSSH/PEM); default: a new ed25519 key */
  hostKey?: string | Buffer;
  /** default 0 (a free port) */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
  faults?: SftpServerFaults;
}

export interface SftpServer {
  host: string;
  port: number;
  /** the host key's OpenSSH fingerprint `SHA256:…`, to pin in the client */
  hostKeySha256: string;
  /** a known_hosts line for `[host]:port` */
  knownHostsLine: string;
  root: string;
  /** replaces the injected faults (`{}` = healthy) */
  setFaults(faults: SftpServerFaults): void;
  /** open SSH connections */
  connections(): number;
  /** stops listening and drops every connection; safe to call twice */
  close(): Promise<void>;
}

/**
 * A new ed25519 key pair in OpenSSH format (`private`, `public` = an authorized_keys line).
 *
 * ssh2 1.17's `generateKeyPairSync('ed25519')` strips the public key's leading zero bytes, so
 * about 1 key in 256 comes out 31 bytes long and its own `parseKey` refuses it ("Malformed
 * OpenSSH private key"; mscdex/ssh2#1390, #1513, open). Such a pair is thrown away and a new
 * one drawn; 8 bad draws in a row (odds 2^-64) is a bug, not bad luck.
 */
export function generateSshKeyPair(comment = ''): { private: string; public: string } {
  for (let attempt = 0; attempt < 8; attempt++) {
    const kp = utils.generateKeyPairSync('ed25519', { comment });
    if (!(utils.parseKey(kp.private) instanceof Error) && !(utils.parseKey(kp.public) instanceof Error)) {
      return { private: kp.private, public: kp.public };
    }
  }
  throw new Error('ssh2 generated 8 unparsable ed25519 key pairs in a row');
}

function parse(key: string | Buffer): ParsedKey {
  const parsed = utils.parseKey(key);
  if (parsed instanceof Error) throw parsed;
  return Array.isArray(parsed) ? (parsed[0] as ParsedKey) : parsed;
}

/** OpenSSH fingerprint (`SHA256:…`) of a public or private key. */
export function sshFingerprint(key: string | Buffer): string {
  return `SHA256:${createHash('sha256').update(parse(key).getPublicSSH()).digest('base64').replace(/=+$/, '')}`;
}

const S_IFDIR = 0o040000;

function attrsOf(s: { mode: number; uid: number; gid: number; size: number; atimeMs: number; mtimeMs: number }): Attributes {
  return { mode: s.mode, uid: s.uid, gid: s.gid, size: s.size, atime: Math.floor(s.atimeMs / 1000), mtime: Math.floor(s.mtimeMs / 1000) };
}

function longname(name: string, a: Attributes): string {
  const dir = (a.mode & 0o170000) === S_IFDIR;
  const bits = 'rwxrwxrwx'.replace(/./g, (ch, i: number) => (a.mode & (1 << (8 - i)) ? ch : '-'));
  const when = new Date(a.mtime * 1000).toISOString().slice(0, 16).replace('T', ' ');
  return `${dir ? 'd' : '-'}${bits} 1 tmo tmo ${String(a.size).padStart(10)} ${when} ${name}`;
}

function statusOf(err: unknown): number {
  switch ((err as NodeJS.ErrnoException)?.code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return STATUS.NO_SUCH_FILE;
    case 'EACCES':
    case 'EPERM':
      return STATUS.PERMISSION_DENIED;
    default:
      return STATUS.FAILURE;
  }
}

type OpenHandle = { kind: 'file'; fh: FileHandle } | { kind: 'dir'; entries: FileEntry[]; sent: boolean };

/** Serves one SFTP channel; paths are confined to `root` (`..` never leaves `/`). */
function serveSftp(sftp: SFTPWrapper, root: string, faults: () => SftpServerFaults): void {
  const handles = new Map<number, OpenHandle>();
  let nextHandle = 1;
  const remote = (p: string) => posix.resolve('/', p);
  const local = (p: string) => join(root, remote(p));
  const handleOf = (buf: Buffer) => (buf.length === 4 ? handles.get(buf.readUInt32BE(0)) : undefined);
  const newHandle = (h: OpenHandle): Buffer => {
    const id = nextHandle++;
    handles.set(id, h);
    const buf = Buffer.alloc(4);
    buf.writeUInt32BE(id, 0);
    return buf;
  };
  // every request is answered exactly once, whatever fails
  const reply = (reqid: number, work: () => Promise<void>) => {
    work().catch((err: unknown) => {
      try {
        sftp.status(reqid, statusOf(err), (err as Error)?.message);
      } catch {
        // channel already gone
      }
    });
  };
  const ok = (reqid: number) => sftp.status(reqid, STATUS.OK);

  sftp.on('OPEN', (reqid, filename, flags) =>
    reply(reqid, async () => {
      const mode = utils.sftp.flagsToString(flags);
      if (mode === null) return sftp.status(reqid, STATUS.FAILURE, 'unsupported open flags');
      const fh = await open(local(filename), mode);
      sftp.handle(reqid, newHandle({ kind: 'file', fh }));
    }),
  );
  sftp.on('READ', (reqid, handle, offset, length) =>
    reply(reqid, async () => {
      const h = handleOf(handle);
      if (h?.kind !== 'file') return sftp.status(reqid, STATUS.FAILURE, 'invalid handle');
      const stallAt = faults().stallReadsFromOffset;
      if (stallAt !== undefined && offset >= stallAt) return; // never answered
      const buf = Buffer.allocUnsafe(Math.min(length, 256 * 1024));
      const { bytesRead } = await h.fh.read(buf, 0, buf.length, offset);
      if (bytesRead === 0) return sftp.status(reqid, STATUS.EOF);
      sftp.data(reqid, buf.subarray(0, bytesRead));
    }),
  );
  sftp.on('WRITE', (reqid, handle, offset, data) =>
    reply(reqid, async () => {
      const h = handleOf(handle);
      if (h?.kind !== 'file') return sftp.status(reqid, STATUS.FAILURE, 'invalid handle');
      await h.fh.write(data, 0, data.length, offset);
      ok(reqid);
    }),
  );
  sftp.on('CLOSE', (reqid, handle) =>
    reply(reqid, async () => {
      const h = handleOf(handle);
      if (!h) return sftp.status(reqid, STATUS.FAILURE, 'invalid handle');
      handles.delete(handle.readUInt32BE(0));
      if (h.kind === 'file') await h.fh.close();
      ok(reqid);
    }),
  );
  sftp.on('FSTAT', (reqid, handle) =>
    reply(reqid, async () => {
      const h = handleOf(handle);
      if (h?.kind !== 'file') return sftp.status(reqid, STATUS.FAILURE, 'invalid handle');
      sftp.attrs(reqid, attrsOf(await h.fh.stat()));
    }),
  );
  sftp.on('FSETSTAT', (reqid) => ok(reqid));
  sftp.on('SETSTAT', (reqid) => ok(reqid));
  sftp.on('STAT', (reqid, path) => reply(reqid, async () => sftp.attrs(reqid, attrsOf(await stat(local(path))))));
  sftp.on('LSTAT', (reqid, path) => reply(reqid, async () => sftp.attrs(reqid, attrsOf(await lstat(local(path))))));
  sftp.on('OPENDIR', (reqid, path) =>
    reply(reqid, async () => {
      const dir = local(path);
      const names = await readdir(dir);
      const entries: FileEntry[] = [];
      for (const filename of names.sort()) {
        try {
          const attrs = attrsOf(await stat(join(dir, filename)));
          entries.push({ filename, longname: longname(filename, attrs), attrs });
        } catch {
          // removed meanwhile
        }
      }
      sftp.handle(reqid, newHandle({ kind: 'dir', entries, sent: false }));
    }),
  );
  sftp.on('READDIR', (reqid, handle) =>
    reply(reqid, async () => {
      const h = handleOf(handle);
      if (h?.kind !== 'dir') return sftp.status(reqid, STATUS.FAILURE, 'invalid handle');
      if (h.sent || h.entries.length === 0) return sftp.status(reqid, STATUS.EOF);
      h.sent = true;
      sftp.name(reqid, h.entries);
    }),
  );
  sftp.on('REMOVE', (reqid, path) =>
    reply(reqid, async () => {
      await unlink(local(path));
      ok(reqid);
    }),
  );
  sftp.on('RMDIR', (reqid, path) =>
    reply(reqid, async () => {
      await rmdir(local(path));
      ok(reqid);
    }),
  );
  sftp.on('MKDIR', (reqid, path) =>
    reply(reqid, async () => {
      await mkdir(local(path));
      ok(reqid);
    }),
  );
  sftp.on('RENAME', (reqid, oldPath, newPath) =>
    reply(reqid, async () => {
      const from = local(oldPath);
      const to = local(newPath);
      // like OpenSSH's SFTP v3 rename: never replaces an existing target
      const source = await lstat(from);
      if (source.isDirectory()) {
        const exists = await lstat(to).then(
          () => true,
          () => false,
        );
        if (exists) return sftp.status(reqid, STATUS.FAILURE, 'target exists');
        await rename(from, to);
      } else {
        try {
          await link(from, to);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') return sftp.status(reqid, STATUS.FAILURE, 'target exists');
          throw err;
        }
        await unlink(from);
      }
      ok(reqid);
    }),
  );
  sftp.on('REALPATH', (reqid, path) =>
    reply(reqid, async () => {
      const p = remote(path);
      sftp.name(reqid, [{ filename: p, longname: p, attrs: {} as Attributes }]);
    }),
  );
  sftp.on('READLINK', (reqid) => sftp.status(reqid, STATUS.OP_UNSUPPORTED));
  sftp.on('SYMLINK', (reqid) => sftp.status(reqid, STATUS.OP_UNSUPPORTED));
  sftp.on('close', () => {
    for (const h of handles.values()) if (h.kind === 'file') h.fh.close().catch(() => undefined);
    handles.clear();
  });
}

/**
 * Starts the SFTP server. Login: `username` with one of `authorizedKeys` (public key only;
 * passwords and keyboard-interactive are refused); then only the `sftp` subsystem.
 */
export async function startSftpServer(opts: SftpServerOptions): Promise<SftpServer> {
  const username = opts.username ?? 'gateway';
  const hostKey = opts.hostKey ?? generateSshKeyPair('legacy-gateway-sftp-simulator').private;
  const hostKeySha256 = sshFingerprint(hostKey);
  const allowed = opts.authorizedKeys.map((k) => parse(k));
  let faults: SftpServerFaults = { ...(opts.faults ?? {}) };
  const clients = new Set<Connection>();

  const server = new Server({ hostKeys: [hostKey], ident: `legacy-gateway-sftp-sim_${randomBytes(2).toString('hex')}` }, (client) => {
    if (faults.refuseConnections) {
      client.end();
      return;
    }
    // request/answer protocol: Nagle + delayed ACKs would add ≈40 ms to every round trip
    (client as unknown as { setNoDelay(v: boolean): void }).setNoDelay(true);
    clients.add(client);
    client.on('close', () => clients.delete(client));
    client.on('error', () => undefined); // a client going away is not the server's problem
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey' || ctx.username !== username) return ctx.reject(['publickey']);
      const key = allowed.find((k) => k.getPublicSSH().equals(ctx.key.data));
      if (!key) return ctx.reject(['publickey']);
      if (ctx.signature && ctx.blob) {
        if (key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(['publickey']);
      }
      ctx.accept();
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('sftp', (acceptSftp) => serveSftp(acceptSftp(), opts.root, () => faults));
        session.on('exec', (_accept, reject) => reject());
        session.on('shell', (_accept, reject) => reject());
        session.on('pty', (_accept, reject) => reject?.());
      });
      client.on('tcpip', (_accept, reject) => reject());
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const publicLine = parse(hostKey);
  const knownHostsLine = `[${addr.address}]:${addr.port} ${publicLine.type} ${publicLine.getPublicSSH().toString('base64')}`;

  let closing: Promise<void> | undefined;
  return {
    host: addr.address,
    port: addr.port,
    hostKeySha256,
    knownHostsLine,
    root: opts.root,
    setFaults(f) {
      faults = { ...f };
    },
    connections: () => clients.size,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of clients) c.end();
        // ssh2 keeps the raw sockets: end them all so close() cannot hang on a stalled client
        setTimeout(() => {
          for (const c of clients) (c as unknown as { _sock?: { destroy(): void } })._sock?.destroy();
        }, 200).unref();
      });
      return closing;
    },
  };
}
