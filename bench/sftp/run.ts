/**
 * SFTP download bench (`npm run bench:sftp [-- --records 2000000 --runs 3 --depths 1,16,64]`):
 * MB/s of the adapter's `read()` at several read depths against a real OpenSSH server (chrooted
 * internal-sftp, key-only, as src/adapters/sftp/testing/openssh-server.ts sets it up; needs root),
 * with ssh2's `fastGet` (64 × 64 KiB, and its defaults) for comparison, on one synthetic
 * TERMSTAT file (2,000,000 records = 164 MB). The bytes `read()` yields are only counted: this
 * is the transport's ceiling, not a parse.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import SftpClient from 'ssh2-sftp-client';
import { createSftpAdapter } from '../../src/adapters/sftp/index.ts';
import { openSshUnavailableReason, startOpenSshServer } from '../../src/adapters/sftp/testing/openssh-server.ts';
import { writeSyntheticTermstat } from '../../src/simulators/tmo-batch/index.ts';

const { values: argv } = parseArgs({
  options: {
    records: { type: 'string', default: '2000000' },
    runs: { type: 'string', default: '3' },
    depths: { type: 'string', default: '1,16,64' },
  },
});
const records = Number(argv.records);
const runs = Number(argv.runs);
const depths = argv.depths.split(',').map(Number);

const reason = openSshUnavailableReason();
if (reason) {
  console.error(`bench:sftp needs a real sshd: ${reason}`);
  process.exit(2);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const sshd = await startOpenSshServer();
const local = await mkdtemp(join(tmpdir(), 'bench-sftp-'));
try {
  const name = 'TERMSTAT_20261127.DAT';
  const file = join(sshd.chroot, 'outbox', name);
  const t0 = performance.now();
  const { bytes } = await writeSyntheticTermstat(file, { date: '20261127', records });
  await sshd.own(file);
  console.log(`file: ${records.toLocaleString('en')} records, ${bytes.toLocaleString('en')} bytes (generated in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  console.log(`machine: load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; OpenSSH internal-sftp on 127.0.0.1:${sshd.port}\n`);

  const rows: Array<[string, number[]]> = [];
  for (const depth of depths) {
    const results: number[] = [];
    for (let r = 0; r < runs; r++) {
      const files = createSftpAdapter({
        host: sshd.host,
        port: sshd.port,
        username: sshd.username,
        privateKey: sshd.privateKey,
        hostKey: { sha256: [sshd.hostKeySha256] },
        readDepth: depth,
      });
      await files.stat(`/outbox/${name}`); // connect outside the timing
      const start = performance.now();
      let got = 0;
      for await (const chunk of files.read(`/outbox/${name}`)) got += chunk.length;
      const s = (performance.now() - start) / 1000;
      await files.close();
      if (got !== bytes) throw new Error(`read() returned ${got} bytes, expected ${bytes}`);
      results.push(bytes / 1e6 / s);
    }
    rows.push([`read(), depth ${depth} × 64 KiB`, results]);
  }

  const fastGet = async (label: string, options: { concurrency?: number; chunkSize?: number }) => {
    const results: number[] = [];
    for (let r = 0; r < runs; r++) {
      const client = new SftpClient('bench', { error: () => undefined, end: () => undefined, close: () => undefined });
      await client.connect({ host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, hostVerifier: () => true });
      const target = join(local, `copy-${r}`);
      const start = performance.now();
      await client.fastGet(`/outbox/${name}`, target, options);
      const s = (performance.now() - start) / 1000;
      await client.end();
      if ((await stat(target)).size !== bytes) throw new Error('fastGet copy has the wrong size');
      await rm(target);
      results.push(bytes / 1e6 / s);
    }
    rows.push([label, results]);
  };
  await fastGet('fastGet, 64 × 64 KiB (to a local file)', { concurrency: 64, chunkSize: 64 * 1024 });
  await fastGet('fastGet, defaults (to a local file)', {});

  console.log('| download method | MB/s median | runs |');
  console.log('| --- | --- | --- |');
  for (const [label, xs] of rows) console.log(`| ${label} | ${median(xs).toFixed(0)} | ${xs.map((x) => x.toFixed(0)).join(', ')} |`);
} finally {
  await sshd.close();
  await rm(local, { recursive: true, force: true });
}
