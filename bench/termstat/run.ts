/**
 * TERMSTAT bench (`npm run bench:termstat [-- --records 2000000 --targets embedded,openssh]`):
 * a synthetic snapshot imported end to end through an SFTP server into a private redis-server,
 * with the two limits measured beside it in the same run.
 *
 * This process runs the import only: the snapshot files are written by a child process
 * (bench/termstat/child.ts) and the embedded ssh2 SFTP server runs in another, so the peak RSS
 * and CPU seconds below are the import's (plus this bench's small harness: printed as the RSS
 * before each import).
 *
 * Per target (the embedded ssh2 server; a real chrooted OpenSSH when this runs as root with sshd):
 * 1. the raw SFTP download of the file (the adapter's `read()`: 64 parallel 64 KiB reads), drained
 *    — the transfer limit;
 * 2. import of a first snapshot (no previous one: no diff events);
 * 3. import of the next day's snapshot with 10 % of the statuses changed (the nightly case:
 *    stage + diff + swap + one event per change + archive) — the headline records/s.
 * Once, from a local file: parse only (no Redis), and parse + the bare write of the same records
 * (the same packing, buckets and script calls as the import, HSET only: no duplicate check, no
 * diff, no events) — the Redis write limit.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { createLocalFolderFiles } from '../../src/adapters/files/local-folder.ts';
import { createSftpAdapter } from '../../src/adapters/sftp/adapter.ts';
import { openSshUnavailableReason, startOpenSshServer } from '../../src/adapters/sftp/testing/openssh-server.ts';
import type { FileTransferPort } from '../../src/domain/file-transfer.port.ts';
import type { TerminalSnapshotSink } from '../../src/domain/terminal-snapshot.ts';
import { startPrivateRedis } from '../../src/infra/redis-server.ts';
import { openBareWrite, snapshotKeys } from '../../src/jobs/batch/snapshot-store.ts';
import { generateSshKeyPair } from '../../src/simulators/sftp/server.ts';
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
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

function child(args: string[]): ChildProcess {
  return fork(CHILD, args, { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/** Written by a child process: the generator's memory is not this process's. */
async function writeSnapshot(path: string, date: string, statusShift: number): Promise<void> {
  const c = child(['generate', path, date, String(statusShift), String(N)]);
  const [code] = (await once(c, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`snapshot generator exited with ${code}`);
}

/** user + system CPU seconds of another process, from /proc (Linux). */
function procCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (100/s)
  } catch {
    return Number.NaN;
  }
}

function cpuMeter() {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const c = process.cpuUsage(c0);
    return { ms: performance.now() - t0, cpu: (c.user + c.system) / 1e6 };
  };
}

interface ImportFigures {
  run: { state: string; records: number; statusChanges: number } | null;
  ms: number;
  cpu: number;
  rssBefore: number;
  rssPeak: number;
  maxRss: number;
  heapAtPeak: number;
  externalAtPeak: number;
}

const results: string[] = [];
const say = (line: string) => {
  results.push(line);
  console.log(line);
};

const redisServer = await startPrivateRedis();
const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
/** redis-server's own CPU (user + sys) so far: the machine is shared, wall time alone says little. */
async function redisCpuSeconds(): Promise<number> {
  const info = await redis.info('cpu');
  const get = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return get('used_cpu_user') + get('used_cpu_sys');
}
const format = termstatFormat({ timeZone: 'Europe/Rome' });

say(`TERMSTAT bench: ${fmt(N)} records, load average ${load()} at the start, node ${process.version}, ${new Date().toISOString()}`);

// ---------- local limits ----------
let bare = { ms: 0, cpu: 0, redisCpu: 0 };
{
  const dir = mkdtempSync(join(tmpdir(), 'termstat-bench-'));
  const name = 'TERMSTAT_20261127.DAT';
  await writeSnapshot(join(dir, name), '20261127', 0);
  const local = createLocalFolderFiles(dir);

  let meter = cpuMeter();
  const parser = createTermstatParser({ timeZone: 'Europe/Rome' });
  const noop: TerminalSnapshotSink = { record: () => undefined };
  let n = 0;
  for await (const chunk of local.read(`/${name}`)) n += parser.pushTo(chunk, noop);
  parser.end();
  const parse = meter();
  say(`local parse only: ${secs(parse.ms)} s = ${fmt(n / (parse.ms / 1000))} records/s; CPU ${parse.cpu.toFixed(1)} s`);

  const r0 = await redisCpuSeconds();
  meter = cpuMeter();
  const p2 = createTermstatParser({ timeZone: 'Europe/Rome' });
  const writer = await openBareWrite(redis, snapshotKeys('bench-bare'), 0);
  for await (const chunk of local.read(`/${name}`)) {
    p2.pushTo(chunk, writer.sink);
    await writer.ready();
  }
  p2.end();
  await writer.finish();
  const m = meter();
  bare = { ...m, redisCpu: (await redisCpuSeconds()) - r0 };
  say(
    `local parse + bare packed HSET (the Redis write limit): ${secs(bare.ms)} s = ${fmt(n / (bare.ms / 1000))} records/s; ` +
      `CPU: this process ${bare.cpu.toFixed(1)} s, redis-server ${bare.redisCpu.toFixed(1)} s`,
  );
  await redis.flushall();
  rmSync(dir, { recursive: true, force: true });
}

// ---------- through SFTP ----------
interface Target {
  name: string;
  files: FileTransferPort;
  /** how the import's process logs in */
  login: { host: string; port: number; username: string; privateKey: string; hostKeySha256: string };
  root: string;
  /** the server's process, for its CPU seconds (the embedded server's child) */
  serverPid?: number;
  own: (path: string) => Promise<void>;
  close: () => Promise<void>;
}

async function embedded(): Promise<Target> {
  const root = mkdtempSync(join(tmpdir(), 'termstat-sftp-'));
  for (const d of ['inbox', 'outbox', 'outbox/archive', 'outbox/error']) mkdirSync(join(root, d), { recursive: true });
  const client = generateSshKeyPair('bench');
  const keyFile = join(root, '..', `${root.split('/').at(-1)}.pub`);
  writeFileSync(keyFile, client.public);
  const server = child(['sftp', root, keyFile]);
  const [info] = (await once(server, 'message')) as [{ host: string; port: number; hostKeySha256: string }];
  const files = createSftpAdapter({
    host: info.host,
    port: info.port,
    username: 'gateway',
    privateKey: client.private,
    hostKey: { sha256: [info.hostKeySha256] },
  });
  return {
    name: 'embedded ssh2 server',
    files,
    login: { host: info.host, port: info.port, username: 'gateway', privateKey: client.private, hostKeySha256: info.hostKeySha256 },
    root,
    ...(server.pid === undefined ? {} : { serverPid: server.pid }),
    own: async () => undefined,
    close: async () => {
      await files.close();
      const exited = once(server, 'exit');
      server.disconnect();
      await exited;
      rmSync(root, { recursive: true, force: true });
      rmSync(keyFile, { force: true });
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
    login: { host: server.host, port: server.port, username: server.username, privateKey: server.privateKey, hostKeySha256: server.hostKeySha256 },
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
    say(`${name}: skipped (${made})`);
    continue;
  }
  const t = made;
  const outbox = join(t.root, 'outbox');
  const deliver = async (date: string, shift: number) => {
    const { data, marker } = format.names(date);
    await writeSnapshot(join(outbox, data), date.replaceAll('-', ''), shift);
    writeFileSync(join(outbox, marker), '');
    await t.own(join(outbox, data));
    await t.own(join(outbox, marker));
    return data;
  };

  const first = await deliver('2026-11-27', 0);
  const s0 = procCpuSeconds(t.serverPid);
  const meter = cpuMeter();
  let bytes = 0;
  for await (const chunk of t.files.read(`/outbox/${first}`)) bytes += chunk.length;
  const raw = meter();
  say(
    `${t.name}: raw SFTP download ${secs(raw.ms)} s (${(bytes / MB / (raw.ms / 1000)).toFixed(0)} MB/s, ${(bytes / MB).toFixed(0)} MB); ` +
      `CPU: this process ${raw.cpu.toFixed(1)} s, server ${t.serverPid ? `${(procCpuSeconds(t.serverPid) - s0).toFixed(1)} s` : 'n/a'}`,
  );

  const prefix = `bench-${name}`;
  for (const [date, shift, label] of [
    ['2026-11-27', 0, 'first snapshot (no diff)'],
    ['2026-11-28', 1, 'next snapshot, 10 % status changes'],
  ] as const) {
    if (date !== '2026-11-27') await deliver(date, shift);
    const server0 = procCpuSeconds(t.serverPid);
    const redis0 = await redisCpuSeconds();
    // a fresh process per import: its peak RSS and CPU are the import's alone
    const imp = child(['import', JSON.stringify({ redisUrl: redisServer.url, prefix, ...t.login })]);
    const [r] = (await once(imp, 'message')) as [ImportFigures];
    await once(imp, 'exit');
    const redisCpu = (await redisCpuSeconds()) - redis0;
    const serverCpu = procCpuSeconds(t.serverPid) - server0;
    if (r.run?.state !== 'imported') throw new Error(`import did not succeed: ${JSON.stringify(r.run)}`);
    const rate = r.run.records / (r.ms / 1000);
    say(
      `${t.name}: ${label}: ${fmt(r.run.records)} records in ${secs(r.ms)} s = ${fmt(rate)} records/s end to end, ` +
        `${fmt(r.run.statusChanges)} events; import process peak RSS ${(r.rssPeak / MB).toFixed(0)} MB sampled, ` +
        `maxRSS ${(r.maxRss / MB).toFixed(0)} MB (${(r.rssBefore / MB).toFixed(0)} MB before the poll; at the peak V8 heap ` +
        `${(r.heapAtPeak / MB).toFixed(0)} MB, external ${(r.externalAtPeak / MB).toFixed(0)} MB); ` +
        `CPU: import ${r.cpu.toFixed(1)} s, redis-server ${redisCpu.toFixed(1)} s, SFTP server ${Number.isNaN(serverCpu) ? 'n/a' : `${serverCpu.toFixed(1)} s`}; ` +
        `time ÷ raw download ${(r.ms / raw.ms).toFixed(2)}, time ÷ bare write ${(r.ms / bare.ms).toFixed(2)}; load average ${load()}`,
    );
  }
  const mem = await redis.info('memory');
  say(`${t.name}: redis used_memory_human after import ${/used_memory_human:(\S+)/.exec(mem)?.[1] ?? '?'} (one generation)`);
  console.log(`  archive: ${(await readdir(join(outbox, 'archive'))).join(', ')}`);
  await redis.flushall();
  await t.close();
}

console.log(`\n${results.join('\n')}`);
redis.disconnect();
await redisServer.stop();
