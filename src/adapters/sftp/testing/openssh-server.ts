// A real OpenSSH SFTP server for tests and benches, set up like TMO's (BATCH.md): chrooted
// `internal-sftp`, key-only login, a dedicated user. Needs root (sshd's chroot and privilege
// separation) and /usr/sbin/sshd (Debian `openssh-server`, installed by .ci/run).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const SSHD = '/usr/sbin/sshd';
/** The local user the tests log in as (created when missing). */
export const SFTP_TEST_USER = 'lgw-sftp';
/** Parent of every test server's files: sshd's ChrootDirectory must be root-owned all the way up, so not under /tmp. */
const BASE = '/var/lib/legacy-gateway-test-sshd';

/** Why a real OpenSSH server cannot run here, or null when it can. */
export function openSshUnavailableReason(): string | null {
  if (process.platform !== 'linux') return 'OpenSSH tests run on Linux only';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'OpenSSH tests need root (sshd chroot); CI runs as root';
  if (!existsSync(SSHD)) return `${SSHD} is missing (apt-get install openssh-server)`;
  return null;
}

export interface OpenSshServer {
  host: string;
  port: number;
  username: string;
  /** the client's private key (OpenSSH format) */
  privateKey: string;
  /** as `ssh-keygen -lf` prints it for the host key */
  hostKeySha256: string;
  /** the local folder that is `/` for the SFTP user (root-owned; `inbox`, `outbox`… are the user's) */
  chroot: string;
  /** pid of the listening sshd */
  pid: number;
  /** process ids of the per-connection sshd processes (descendants of the listener) */
  sessionPids(): Promise<number[]>;
  /** makes a local file belong to the SFTP user (as if TMO had written it) */
  own(path: string): Promise<void>;
  close(): Promise<void>;
}

/** Every process below `pid` (sshd's per-connection monitor and its unprivileged child). */
async function descendants(pid: number): Promise<number[]> {
  const { stdout } = await run('pgrep', ['-P', String(pid)]).catch(() => ({ stdout: '' }));
  const children = stdout
    .split(/\s+/)
    .filter((s) => s !== '')
    .map(Number);
  const below = await Promise.all(children.map((c) => descendants(c)));
  return [...children, ...below.flat()];
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function ensureUser(): Promise<{ uid: number; gid: number }> {
  const ids = async () => {
    const { stdout: u } = await run('id', ['-u', SFTP_TEST_USER]);
    const { stdout: g } = await run('id', ['-g', SFTP_TEST_USER]);
    return { uid: Number(u.trim()), gid: Number(g.trim()) };
  };
  try {
    return await ids();
  } catch {
    await run('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', SFTP_TEST_USER]).catch(
      () => undefined, // another test file created it meanwhile
    );
    // a '!' password counts as a locked account and sshd (UsePAM no) refuses even key logins
    await run('usermod', ['-p', '*', SFTP_TEST_USER]);
    return ids();
  }
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}: ${stderr()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd did not listen on ${port} within 10 s: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `sshd -D` on a free loopback port with a fresh chroot, host key and client key. */
export async function startOpenSshServer(): Promise<OpenSshServer> {
  const reason = openSshUnavailableReason();
  if (reason) throw new Error(reason);
  const { uid, gid } = await ensureUser();
  const dir = join(BASE, randomBytes(6).toString('hex'));
  const chroot = join(dir, 'chroot');
  await mkdir(chroot, { recursive: true, mode: 0o755 });
  for (const d of [BASE, dir, chroot]) await chmod(d, 0o755);
  for (const sub of ['inbox', 'outbox', 'outbox/archive', 'outbox/error']) {
    await mkdir(join(chroot, sub), { recursive: true });
    await chown(join(chroot, sub), uid, gid);
  }
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation directory
  const hostKey = join(dir, 'host_ed25519');
  const clientKey = join(dir, 'client_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test-host', '-f', hostKey]);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test-client', '-f', clientKey]);
  await writeFile(join(dir, 'authorized_keys'), await readFile(`${clientKey}.pub`));
  const { stdout: fp } = await run('ssh-keygen', ['-lf', `${hostKey}.pub`]);
  const hostKeySha256 = fp.split(/\s+/)[1] ?? '';
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  await writeFile(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin no',
      'UsePAM no',
      'StrictModes no',
      `AllowUsers ${SFTP_TEST_USER}`,
      'Subsystem sftp internal-sftp',
      `ChrootDirectory ${chroot}`,
      'ForceCommand internal-sftp',
      'AllowTcpForwarding no',
      'X11Forwarding no',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  await run(SSHD, ['-t', '-f', config]);
  const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-4000);
  });
  await waitForPort(port, child, () => err);
  const pid = child.pid ?? 0;

  let closing: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port,
    username: SFTP_TEST_USER,
    privateKey: await readFile(clientKey, 'utf8'),
    hostKeySha256,
    chroot,
    pid,
    sessionPids: () => descendants(pid),
    own: (path) => chown(path, uid, gid),
    close() {
      closing ??= (async () => {
        // per-connection sshd processes (ours, by id) would outlive the listener
        for (const session of await descendants(pid)) {
          try {
            process.kill(session, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        if (child.exitCode === null) {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        }
        await rm(dir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
