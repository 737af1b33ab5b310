/**
 * bench/termstat's helper processes, so each measured import runs alone in its own process (its
 * peak RSS and CPU are the import's, from a fresh process):
 * - `generate <path> <YYYYMMDD> <statusShift> <records>` writes a synthetic snapshot;
 * - `sftp <root> <authorized public key file>` runs the embedded ssh2 SFTP server and sends
 *   `{ host, port, hostKeySha256 }` to the parent over IPC, until the parent disconnects;
 * - `import <config JSON>` runs one TERMSTAT poll (the production importer, through the SFTP
 *   adapter) and sends its figures to the parent.
 */
import { createWriteStream, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import pino from 'pino';
import { createSftpAdapter } from '../../src/adapters/sftp/adapter.ts';
import { createTermstatImporter } from '../../src/jobs/batch/termstat-import.ts';
import { termstatFormat } from '../../src/translators/batch/termstat.ts';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { syntheticTermstat } from '../../src/jobs/batch/test-support/termstat-file.ts';
import { startSftpServer } from '../../src/simulators/sftp/server.ts';

const [mode, ...args] = process.argv.slice(2);
if (mode === 'generate') {
  const [path = '', date = '', shift = '0', records = '0'] = args;
  await pipeline(Readable.from(syntheticTermstat(date, Number(records), { statusShift: Number(shift) })), createWriteStream(path));
} else if (mode === 'sftp') {
  const [root = '', keyFile = ''] = args;
  const server = await startSftpServer({ root, authorizedKeys: [readFileSync(keyFile, 'utf8')] });
  process.send?.({ host: server.host, port: server.port, hostKeySha256: server.hostKeySha256 });
  process.on('disconnect', () => void server.close().finally(() => process.exit(0)));
} else if (mode === 'import') {
  const c = JSON.parse(args[0] ?? '{}') as {
    redisUrl: string;
    prefix: string;
    host: string;
    port: number;
    username: string;
    privateKey: string;
    hostKeySha256: string;
  };
  const redis = new Redis(c.redisUrl, { maxRetriesPerRequest: null });
  const files = createSftpAdapter({
    host: c.host,
    port: c.port,
    username: c.username,
    privateKey: c.privateKey,
    hostKey: { sha256: [c.hostKeySha256] },
  });
  const importer = createTermstatImporter({
    redis,
    prefix: c.prefix,
    files,
    format: termstatFormat({ timeZone: 'Europe/Rome' }),
    eventsStream: `{${c.prefix}}:events:terminals`,
    eventsMaxLen: 1_000_000,
    settleMs: 0,
    logger: pino({ level: 'warn' }),
  });
  const rssBefore = process.memoryUsage.rss();
  let peak = rssBefore;
  let atPeak = process.memoryUsage();
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > peak) [peak, atPeak] = [m.rss, m];
  }, 50);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { runs } = await importer.poll();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  await importer.close();
  await files.close();
  redis.disconnect();
  process.send?.({
    run: runs[0] ?? null,
    ms,
    cpu: (cpu.user + cpu.system) / 1e6,
    rssBefore,
    rssPeak: Math.max(peak, process.memoryUsage.rss()),
    maxRss: process.resourceUsage().maxRSS * 1024,
    heapAtPeak: atPeak.heapTotal,
    externalAtPeak: atPeak.external,
  });
  process.disconnect();
} else {
  throw new Error(`unknown mode ${mode}`);
}
