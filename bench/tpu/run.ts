/**
 * bench/tpu: time to export N terminal-settings changes (default 100,000) into one TPU file.
 *
 *   npm run bench:tpu -- [--changes 100000]
 *
 * A private redis-server, TMO's SFTP root as a local folder (the same FileTransferPort the SFTP
 * adapter implements), TMO's simulated batch side. Phases, each timed: accept (the PUT's work
 * without HTTP: GetTerminal from the simulated TMO, operation record, pending change), export
 * (ledger claim, streamed write of `.PART`, rename), TMO's pick-up (simulator, for reference),
 * answers (the 100,000-record ACK applied to changes and operations). Prints a table and the
 * peak RSS of this process.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startPrivateRedis } from '../../src/infra/redis-server.ts';
import { batchHarness } from '../../src/jobs/batch/test-support/harness.ts';

const { values } = parseArgs({ options: { changes: { type: 'string', default: '100000' } } });
const N = Number(values.changes);

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);

const redis = await startPrivateRedis();
const h = await batchHarness(redis.url);
const figures: [string, string][] = [];
const time = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
  const t0 = performance.now();
  const r = await fn();
  const ms = performance.now() - t0;
  figures.push([label, `${(ms / 1000).toFixed(2)} s  (${Math.round((N / ms) * 1000).toLocaleString('en')} changes/s)`]);
  return r;
};

try {
  const tids: string[] = [];
  for (let i = 0; i < N; i += 10_000) tids.push(...h.seedTerminals(Math.min(10_000, N - i)));
  await time('accept (PUT without HTTP)', async () => {
    for (let i = 0; i < tids.length; i += 500) await Promise.all(tids.slice(i, i + 500).map((tid) => h.put(tid)));
  });
  const rssBeforeExport = process.memoryUsage().rss;
  const r = await time('export (claim + stream .PART + rename)', () => h.batch.exchange.exportNow());
  if (r.outcome !== 'sent' || r.records !== N) throw new Error(`export did not send ${N} records: ${JSON.stringify(r)}`);
  const size = (await stat(join(h.root, 'inbox', r.file))).size;
  figures.push(['file', `${r.file}, ${size.toLocaleString('en')} bytes`]);
  await time('TMO pick-up (simulator, reference)', () => h.tmoBatch.processInbox());
  await time('answers (ACK applied to changes + operations)', async () => {
    await h.batch.exchange.processAnswers();
  });
  const f = await h.batch.ledger.get(r.file);
  if (f?.applied !== N) throw new Error(`not every record was applied: ${JSON.stringify(f)}`);
  figures.push(['archive', (await readdir(join(h.root, 'outbox', 'archive'))).join(', ')]);
  figures.push(['RSS before export', `${Math.round(rssBeforeExport / 2 ** 20)} MB`]);
  figures.push(['peak RSS (whole run, this process)', `${Math.round(peakRss / 2 ** 20)} MB`]);
  const w = Math.max(...figures.map(([k]) => k.length));
  process.stdout.write(`bench/tpu: ${N.toLocaleString('en')} changes\n${figures.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n')}\n`);
} finally {
  clearInterval(sampler);
  await h.close();
  await redis.stop();
}
