import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateSshKeyPair, startSftpServer, type SftpServer } from '../../simulators/sftp/index.ts';
import { createSftpAdapter, type SftpAdapter, type SftpAdapterOptions } from './index.ts';
import { runAdapterContract } from './testing/contract.ts';

let root: string;
let server: SftpServer;
const client = generateSshKeyPair('test-client');
const adapters: SftpAdapter[] = [];

function adapter(over: Partial<SftpAdapterOptions> = {}): SftpAdapter {
  const a = createSftpAdapter({
    host: server.host,
    port: server.port,
    username: 'gateway',
    privateKey: client.private,
    hostKey: { sha256: [server.hostKeySha256] },
    connectAttempts: 1,
    ...over,
  });
  adapters.push(a);
  return a;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sftp-adapter-'));
  for (const f of ['inbox', 'outbox']) await mkdir(join(root, f));
  server = await startSftpServer({ root, authorizedKeys: [client.public] });
});
afterEach(async () => {
  server.setFaults({});
  await Promise.all(adapters.splice(0).map((a) => a.close()));
});
afterAll(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

describe('SFTP adapter against the embedded SFTP server', () => {
  runAdapterContract((opts) => ({ files: adapter(opts), localRoot: root }));

  it('when several calls run, then they share one SSH connection', async () => {
    const files = adapter();
    await files.upload('/one.DAT', [Buffer.from('1')]);
    await Promise.all([files.list('/'), files.stat('/one.DAT'), files.stat('/none')]);
    expect(server.connections()).toBe(1);
  });

  it('when the server presents another host key, then connecting fails naming the fingerprint it saw', async () => {
    const other = generateSshKeyPair('other-host');
    const files = adapter({ hostKey: { sha256: [`SHA256:${'A'.repeat(43)}`] } });
    const err = await files.list('/').catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'unavailable', code: 'sftp.host_key_refused', retryable: false });
    expect((err as Error).message).toContain(server.hostKeySha256);
    expect((err as Error).message).not.toContain(other.public);
  });

  it('when the key is pinned through a known_hosts file, then a matching line is trusted and another host key is refused', async () => {
    const file = join(root, '..', `known_hosts-${randomBytes(3).toString('hex')}`);
    await writeFile(file, `# pinned\n${server.knownHostsLine}\n`);
    await expect(adapter({ hostKey: { knownHostsFile: file } }).list('/')).resolves.toBeInstanceOf(Array);
    const stranger = generateSshKeyPair().public.split(' ')[1];
    await writeFile(file, `[${server.host}]:${server.port} ssh-ed25519 ${stranger}\n`);
    const err = await adapter({ hostKey: { knownHostsFile: file } })
      .list('/')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'sftp.host_key_refused' });
    expect((err as Error).message).toContain(server.hostKeySha256);
    await rm(file, { force: true });
  });

  it('when the client key is not authorized, then the error says the key was refused and is not retryable', async () => {
    const files = adapter({ privateKey: generateSshKeyPair().private });
    await expect(files.list('/')).rejects.toMatchObject({ code: 'sftp.auth_failed', retryable: false });
  });

  it('when the server stops answering reads mid-file, then read() fails with sftp.stalled after the inactivity timeout', async () => {
    await writeFile(join(root, 'stall.DAT'), randomBytes(1024 * 1024));
    server.setFaults({ stallReadsFromOffset: 512 * 1024 });
    const files = adapter({ inactivityTimeoutMs: 300, readDepth: 4 });
    let received = 0;
    const started = Date.now();
    const err = await (async () => {
      for await (const chunk of files.read('/stall.DAT')) received += chunk.length;
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'timeout', code: 'sftp.stalled' });
    expect(received).toBe(512 * 1024);
    expect(Date.now() - started).toBeLessThan(5_000);
    // the stalled connection was dropped: the next call works on a new one
    server.setFaults({});
    expect((await files.stat('/stall.DAT'))?.size).toBe(1024 * 1024);
  });

  it('when the consumer is slower than the inactivity timeout, then the read does not count as stalled', async () => {
    await writeFile(join(root, 'slow.DAT'), randomBytes(300 * 1024));
    const files = adapter({ inactivityTimeoutMs: 200, readDepth: 2 });
    let received = 0;
    for await (const chunk of files.read('/slow.DAT')) {
      received += chunk.length;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(received).toBe(300 * 1024);
  });

  it('when the consumer stops early, then the handle is closed and the connection serves the next call', async () => {
    await writeFile(join(root, 'early.DAT'), randomBytes(1024 * 1024));
    const files = adapter();
    for await (const chunk of files.read('/early.DAT')) {
      expect(chunk.length).toBe(64 * 1024);
      break;
    }
    expect((await files.stat('/early.DAT'))?.size).toBe(1024 * 1024);
    expect(files.circuit()).toMatchObject({ state: 'closed', stats: { failures: 0 } });
  });

  it('when the file changes size during a read, then read() fails instead of handing over a mixed file', async () => {
    await writeFile(join(root, 'grow.DAT'), randomBytes(256 * 1024));
    const files = adapter({ readDepth: 1 });
    const err = await (async () => {
      let first = true;
      for await (const _ of files.read('/grow.DAT')) {
        if (first) await writeFile(join(root, 'grow.DAT'), randomBytes(400 * 1024), { flag: 'a' });
        first = false;
      }
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'sftp.file_changed' });
  });

  it('when the server keeps failing, then the breaker opens and calls fail fast as sftp.circuit_open', async () => {
    server.setFaults({ refuseConnections: true });
    const files = adapter({
      breaker: { errorThresholdPercentage: 50, volumeThreshold: 3, resetTimeoutMs: 60_000, rollingWindowMs: 60_000 },
      connectTimeoutMs: 2_000,
    });
    const changes: string[] = [];
    files.onStateChange((c) => changes.push(c.to));
    for (let i = 0; i < 3; i++) await expect(files.list('/')).rejects.toMatchObject({ code: 'sftp.unavailable' });
    expect(files.circuit()).toMatchObject({ system: 'sftp', state: 'open' });
    expect(changes).toEqual(['open']);
    await expect(files.list('/')).rejects.toMatchObject({ code: 'sftp.circuit_open' });
  });

  it('when nothing listens on the port, then the call fails as unavailable after the configured attempts', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    await new Promise<void>((r) => blocker.close(() => r()));
    const files = adapter({ port, connectAttempts: 2, connectBackoffMs: 10 });
    await expect(files.list('/')).rejects.toMatchObject({ kind: 'unavailable', code: 'sftp.unavailable', retryable: true });
  });

  it('when a file is uploaded from a Readable of many small records, then the remote bytes are identical', async () => {
    const records = Array.from({ length: 5000 }, (_, i) => Buffer.from(`D${String(i).padStart(6, '0')}${'X'.repeat(113)}\r\n`));
    const files = adapter();
    const { bytes } = await files.upload('/inbox-many.PART', records);
    expect(bytes).toBe(5000 * 122);
    // Buffer.equals: vitest's deep toEqual walks a 610 KB buffer byte by byte (seconds)
    expect((await readFile(join(root, 'inbox-many.PART'))).equals(Buffer.concat(records))).toBe(true);
  });
});
