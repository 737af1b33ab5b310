/**
 * TERMSTAT bench (`npm run bench:termstat [-- --records 2000000 --targets embedded,openssh]`):
 * a synthetic snapshot imported end to end through an SFTP server into a private redis-server,
 * with the two limits beside it.
 *
 * Per target (the embedded ssh2 server; a real chrooted OpenSSH when this runs as root with sshd):
 * 1. the raw SFTP download of the file (the adapter's `read()`: 64 parallel 64 KiB reads), drained;
 * 2. import of a first snapshot (no previous one: no diff events);
 * 3. import of the next day's snapshot with 10 % of the statuses changed (the nightly case:
 *    stage + diff + swap + one event per change + archive) — the headline records/s.
 * Once, locally: parse only (no Redis) and parse + a bare pipelined HSET of the same records
 * into the same bucket layout (no Lua, no diff) — the Redis write limit.
 * Peak RSS: sampled every 100 ms during each import, and the process's lifetime maxRSS.
 */
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pino from 'pino';
import { createLocalFolderFiles } from '../../src/adapters/files/local-folder.ts';
import { createSftpAdapter } from '../../src/adapters/sftp/adapter.ts';
import { openSshUnavailableReason, startOpenSshServer } from '../../src/adapters/sftp/testing/openssh-server.ts';
import type { FileTransferPort } from '../../src/domain/file-transfer.port.ts';
import { startPrivateRedis } from '../../src/infra/redis-server.ts';
import { bucketOf, recordValue, snapshotKeys } from '../../src/jobs/batch/snapshot-store.ts';
import { createTermstatImporter } from '../../src/jobs/batch/termstat-import.ts';
import { syntheticTermstat } from '../../src/jobs/batch/test-support/termstat-file.ts';
import { generateSshKeyPair, startSftpServer } from '../../src/simulators/sftp/server.ts';
import { createTermstatParser, termstatFormat } from '../../src/translators/batch/termstat.ts';

const { values: argv } = parseArgs({
  options: {
    records: { type: 'string', default: '2000000' },
    targets: { type: 'string', default: 'embedded,openssh' },
  },
});
const N = Number(argv.records);
const MB = 1024 * 1024;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const secs = (ms: number) => (ms / 1000).toFixed(2);

async function writeSnapshot(path: string, date: string, statusShift: number): Promise<void> {
  await pipeline(Readable.from(syntheticTermstat(date, N, { statusShift })), createWriteStream(path));
}

function rssSampler() {
  let peak = process.memoryUsage.rss();
  const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 100);
  return () => {
    clearInterval(t);
    return Math.max(peak, process.memoryUsage.rss());
  };
}

async function drain(files: FileTransferPort, path: string): Promise<{ ms: number; bytes: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let bytes = 0;
  for await (const chunk of files.read(path)) bytes += chunk.length;
  const c = process.cpuUsage(c0);
  return { ms: performance.now() - t0, bytes, cpu: (c.user + c.system) / 1e6 };
}

const results: string[] = [];

/** redis-server's own CPU (user + sys) so far: the machine is shared, wall time alone says little. */
async function redisCpuSeconds(): Promise<number> {
  const info = await redis.info('cpu');
  const get = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return get('used_cpu_user') + get('used_cpu_sys');
}
const redisServer = await startPrivateRedis();
const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
const logger = pino({ level: 'warn' });
const format = termstatFormat({ timeZone: 'Europe/Rome' });

console.log(`TERMSTAT bench: ${fmt(N)} records, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}, node ${process.version}`);

// ---------- local limits ----------
{
  const dir = mkdtempSync(join(tmpdir(), 'termstat-bench-'));
  const file = join(dir, 'TERMSTAT_20261127.DAT');
  await writeSnapshot(file, '20261127', 0);
  const local = createLocalFolderFiles(dir);

  let c0 = process.cpuUsage();
  let t0 = performance.now();
  const parser = createTermstatParser({ timeZone: 'Europe/Rome' });
  let n = 0;
  for await (const chunk of local.read('/TERMSTAT_20261127.DAT')) n += parser.push(chunk).length;
  parser.end();
  const parseMs = performance.now() - t0;
  const parseCpu = process.cpuUsage(c0);

  const keys = snapshotKeys('bench-bare');
  c0 = process.cpuUsage();
  const r0 = await redisCpuSeconds();
  t0 = performance.now();
  const p2 = createTermstatParser({ timeZone: 'Europe/Rome' });
  const inFlight = new Set<Promise<unknown>>();
  for await (const chunk of local.read('/TERMSTAT_20261127.DAT')) {
    const pipe = redis.pipeline();
    for (const r of p2.push(chunk)) pipe.hset(keys.bucketPrefix(0) + bucketOf(r.terminalId), r.terminalId, recordValue(r));
    const p = pipe.exec().finally(() => inFlight.delete(p));
    inFlight.add(p);
    while (inFlight.size >= 8) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  p2.end();
  const bareMs = performance.now() - t0;
  const bareCpu = process.cpuUsage(c0);
  const bareRedis = (await redisCpuSeconds()) - r0;
  await redis.flushall();
  rmSync(dir, { recursive: true, force: true });
  results.push(
    `local parse only              ${secs(parseMs)} s   ${fmt(n / (parseMs / 1000))} records/s; CPU ${((parseCpu.user + parseCpu.system) / 1e6).toFixed(1)} s`,
    `local parse + bare HSET pipe  ${secs(bareMs)} s   ${fmt(n / (bareMs / 1000))} records/s   (the Redis write limit); ` +
      `CPU: this process ${((bareCpu.user + bareCpu.system) / 1e6).toFixed(1)} s, redis-server ${bareRedis.toFixed(1)} s`,
  );
  console.log(results.slice(-2).join('\n'));
}

// ---------- through SFTP ----------
interface Target {
  name: string;
  files: FileTransferPort;
  root: string;
  own: (path: string) => Promise<void>;
  close: () => Promise<void>;
}

async function embedded(): Promise<Target> {
  const root = mkdtempSync(join(tmpdir(), 'termstat-sftp-'));
  for (const d of ['inbox', 'outbox', 'outbox/archive', 'outbox/error']) mkdirSync(join(root, d), { recursive: true });
  const client = generateSshKeyPair('bench');
  const server = await startSftpServer({ root, authorizedKeys: [client.public] });
  const files = createSftpAdapter({
    host: server.host,
    port: server.port,
    username: 'gateway',
    privateKey: client.private,
    hostKey: { sha256: [server.hostKeySha256] },
  });
  return {
    name: 'embedded ssh2 server',
    files,
    root,
    own: async () => undefined,
    close: async () => {
      await files.close();
      await server.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

async function openssh(): Promise<Target | string> {
  const why = openSshUnavailableReason();
  if (why) return why;
  const server = await startOpenSshServer();
  const files = createSftpAdapter({
    host: server.host,
    port: server.port,
    username: server.username,
    privateKey: server.privateKey,
    hostKey: { sha256: [server.hostKeySha256] },
  });
  return {
    name: 'OpenSSH (chrooted internal-sftp)',
    files,
    root: server.chroot,
    own: (p) => server.own(p),
    close: async () => {
      await files.close();
      await server.close();
    },
  };
}

for (const name of argv.targets.split(',')) {
  const made = name === 'openssh' ? await openssh() : await embedded();
  if (typeof made === 'string') {
    results.push(`${name}: skipped (${made})`);
    console.log(results.at(-1));
    continue;
  }
  const t = made;
  const outbox = join(t.root, 'outbox');
  const deliver = async (date: string, shift: number) => {
    const { data, marker } = format.names(date);
    await writeSnapshot(join(outbox, data), date.replaceAll('-', ''), shift);
    await pipeline(Readable.from([]), createWriteStream(join(outbox, marker)));
    await t.own(join(outbox, data));
    await t.own(join(outbox, marker));
    return data;
  };

  const first = await deliver('2026-11-27', 0);
  const raw = await drain(t.files, `/outbox/${first}`);
  results.push(`${t.name}: raw SFTP download ${secs(raw.ms)} s, CPU ${raw.cpu.toFixed(1)} s (${(raw.bytes / MB / (raw.ms / 1000)).toFixed(0)} MB/s, ${(raw.bytes / MB).toFixed(0)} MB)`);
  console.log(results.at(-1));

  const prefix = `bench-${name}`;
  const importer = createTermstatImporter({
    redis,
    prefix,
    files: t.files,
    format,
    eventsStream: `{${prefix}}:events:terminals`,
    eventsMaxLen: 1_000_000,
    settleMs: 0,
    logger,
  });
  for (const [date, shift, label] of [
    ['2026-11-27', 0, 'first snapshot (no diff)'],
    ['2026-11-28', 1, 'next snapshot, 10 % status changes'],
  ] as const) {
    if (date !== '2026-11-27') await deliver(date, shift);
    const peak = rssSampler();
    const cpu0 = process.cpuUsage();
    const redisCpu0 = await redisCpuSeconds();
    const t0 = performance.now();
    const { runs } = await importer.poll();
    const ms = performance.now() - t0;
    const rss = peak();
    const cpu = process.cpuUsage(cpu0);
    const nodeCpu = (cpu.user + cpu.system) / 1e6;
    const redisCpu = (await redisCpuSeconds()) - redisCpu0;
    const run = runs[0];
    if (run?.state !== 'imported') throw new Error(`import did not succeed: ${JSON.stringify(run)}`);
    results.push(
      `${t.name}: ${label}: ${fmt(run.records)} records in ${secs(ms)} s = ${fmt(run.records / (ms / 1000))} records/s end to end, ` +
        `${fmt(run.statusChanges)} events, peak RSS ${(rss / MB).toFixed(0)} MB; ` +
        `CPU: this process ${nodeCpu.toFixed(1)} s (incl. the embedded server when it runs here), redis-server ${redisCpu.toFixed(1)} s ` +
        `→ ${fmt(run.records / Math.max(nodeCpu, redisCpu))} records/s if each had a core`,
    );
    console.log(results.at(-1));
  }
  const mem = await redis.info('memory');
  results.push(`${t.name}: redis used_memory_human after import ${/used_memory_human:(\S+)/.exec(mem)?.[1] ?? '?'} (one generation)`);
  console.log(results.at(-1));
  console.log(`  archive: ${(await readdir(join(outbox, 'archive'))).join(', ')}`);
  await importer.close();
  await redis.flushall();
  await t.close();
}

results.push(`process maxRSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB (lifetime, includes the generator)`);
console.log(`\n${results.join('\n')}`);
redis.disconnect();
await redisServer.stop();
