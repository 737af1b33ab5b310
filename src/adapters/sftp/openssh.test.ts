// The adapter against a real OpenSSH server set up like TMO's: chrooted internal-sftp, key-only.
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import SftpClient from 'ssh2-sftp-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateSshKeyPair } from '../../simulators/sftp/index.ts';
import { createSftpAdapter, type SftpAdapter, type SftpAdapterOptions } from './index.ts';
import { runAdapterContract } from './testing/contract.ts';
import { openSshUnavailableReason, startOpenSshServer, type OpenSshServer } from './testing/openssh-server.ts';

const unavailable = openSshUnavailableReason();
if (unavailable) console.warn(`skipping the OpenSSH SFTP tests: ${unavailable}`);

describe.skipIf(unavailable !== null)('SFTP adapter against OpenSSH (chrooted internal-sftp, key-only)', () => {
  let sshd: OpenSshServer;
  const adapters: SftpAdapter[] = [];
  const adapter = (over: Partial<SftpAdapterOptions> = {}) => {
    const a = createSftpAdapter({
      host: sshd.host,
      port: sshd.port,
      username: sshd.username,
      privateKey: sshd.privateKey,
      hostKey: { sha256: [sshd.hostKeySha256] },
      connectAttempts: 1,
      ...over,
    });
    adapters.push(a);
    return a;
  };

  beforeAll(async () => {
    sshd = await startOpenSshServer();
  });
  afterEach(async () => {
    await Promise.all(adapters.splice(0).map((a) => a.close()));
  });
  afterAll(async () => {
    await sshd?.close();
  });

  runAdapterContract((opts) => ({ files: adapter(opts), localRoot: sshd.chroot }));

  it('when a plain SFTP v3 RENAME targets an existing file, then OpenSSH itself refuses it (the adapter relies on it)', async () => {
    const raw = new SftpClient('raw', { error: () => undefined, end: () => undefined, close: () => undefined });
    await raw.connect({ host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, hostVerifier: () => true });
    try {
      await raw.put(Buffer.from('first'), '/inbox/RAW_A');
      await raw.put(Buffer.from('second'), '/inbox/RAW_B');
      await expect(raw.rename('/inbox/RAW_A', '/inbox/RAW_B')).rejects.toThrow();
      expect(await readFile(join(sshd.chroot, 'inbox', 'RAW_B'), 'utf8')).toBe('second');
    } finally {
      await raw.end();
    }
  });

  it('when the pinned fingerprint is not the server\'s, then the connection is refused with the fingerprint ssh-keygen -lf prints', async () => {
    const files = adapter({ hostKey: { sha256: [`SHA256:${'B'.repeat(43)}`] } });
    const err = await files.list('/inbox').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'sftp.host_key_refused', retryable: false });
    expect((err as Error).message).toContain(sshd.hostKeySha256);
    expect((err as Error).message).toContain('ssh-ed25519');
  });

  it('when a key that is not authorized logs in, then it is refused (no password fallback)', async () => {
    const files = adapter({ privateKey: generateSshKeyPair().private });
    await expect(files.list('/inbox')).rejects.toMatchObject({ code: 'sftp.auth_failed' });
  });

  it('when the client looks outside the chroot, then it sees only the batch folders', async () => {
    const files = adapter();
    expect(await files.stat('/etc/passwd')).toBeNull();
    expect((await files.list('/')).map((e) => e.name).sort()).toEqual(['inbox', 'outbox']);
  });

  it('when TMO wrote the file and the SFTP session stalls mid-read, then read() fails with sftp.stalled', async () => {
    const name = `STALL_${randomBytes(3).toString('hex')}`;
    await writeFile(join(sshd.chroot, 'outbox', name), randomBytes(8 * 1024 * 1024));
    await sshd.own(join(sshd.chroot, 'outbox', name));
    const files = adapter({ inactivityTimeoutMs: 500, readDepth: 2 });
    const stopped: number[] = [];
    let received = 0;
    const err = await (async () => {
      for await (const chunk of files.read(`/outbox/${name}`)) {
        received += chunk.length;
        if (stopped.length === 0) {
          // freeze this connection's sshd processes (ours, by id): a server that stops answering
          for (const pid of await sshd.sessionPids()) {
            process.kill(pid, 'SIGSTOP');
            stopped.push(pid);
          }
        }
      }
    })().catch((e: unknown) => e);
    for (const pid of stopped) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    expect(stopped.length).toBeGreaterThan(0);
    expect(err).toMatchObject({ kind: 'timeout', code: 'sftp.stalled' });
    expect(received).toBeLessThan(8 * 1024 * 1024);
    expect(files.circuit().stats.failures).toBe(1);
  });
});
