/**
 * bench/tpu: time and memory to export N terminal-settings changes (default 100,000) into one
 * TPU file, and to process TMO's N-record ACK.
 *
 *   npm run bench:tpu -- [--changes 100000]
 *
 * A private redis-server, TMO's SFTP root as a local folder (the same FileTransferPort the SFTP
 * adapter implements), TMO's simulated batch side. This process seeds the terminals and accepts
 * the changes (the PUT's work without HTTP) and plays TMO; the export and the answers each run
 * in a fresh gateway process (src/jobs/batch/test-support/export-child.ts), so their peak RSS is
 * the gateway's alone, not the simulator's or the seed data's. Per step: wall time, CPU time
 * (user + system, the figure that means something on a loaded machine), records/s, peak RSS and
 * peak V8 heap. Also the load average before and after.
 */
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startPrivateRedis } from '../../src/infra/redis-server.ts';
import { batchHarness } from '../../src/jobs/batch/test-support/harness.ts';

const { values } = parseArgs({ options: { changes: { type: 'string', default: '100000' } } });
const N = Number(values.changes);
const CHILD = fileURLToPath(new URL('../../src/jobs/batch/test-support/export-child.ts', import.meta.url));

interface Figures {
  ms: number;
  cpuMs: number;
  uploadMs: number | null;
  rssBeforeMiB: number;
  maxRssMiB: number;
  heapPeakMiB: number;
}

function runStep(step: 'export' | 'answers', env: Record<string, string>): Promise<{ result: Record<string, unknown>; figures: Figures }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', CHILD], { env: { ...process.env, ...env, STEP: step, ...(process.env.CHILD_NODE_OPTIONS ? { NODE_OPTIONS: process.env.CHILD_NODE_OPTIONS } : {}) }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.once('error', reject);
    p.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`${step} child exited with ${code}`));
      const line = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown> & { figures: Figures };
      resolve({ result: line, figures: line.figures });
    });
  });
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const rate = (ms: number) => Math.round((N / ms) * 1000).toLocaleString('en');
const loadBefore = load();
const redis = await startPrivateRedis();
const h = await batchHarness(redis.url);
const rows: [string, string][] = [];
try {
  const tids: string[] = [];
  for (let i = 0; i < N; i += 10_000) tids.push(...h.seedTerminals(Math.min(10_000, N - i)));
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < tids.length; i += 500) await Promise.all(tids.slice(i, i + 500).map((tid) => h.put(tid)));
  const acceptCpu = process.cpuUsage(c0);
  rows.push(['accept (PUT without HTTP, reference)', `${((performance.now() - t0) / 1000).toFixed(2)} s wall, ${((acceptCpu.user + acceptCpu.system) / 1e6).toFixed(2)} s CPU (incl. the simulated TMO)`]);

  const env = { REDIS_URL: redis.url, PREFIX: h.prefix, ROOT: h.root };
  const ex = await runStep('export', env);
  if (ex.result.outcome !== 'sent' || ex.result.records !== N) throw new Error(`export did not send ${N} records: ${JSON.stringify(ex.result)}`);
  const file = String(ex.result.file);
  const size = (await stat(join(h.root, 'inbox', file))).size;
  const t1 = performance.now();
  await h.tmoBatch.processInbox();
  rows.push(['TMO pick-up (simulator, reference)', `${((performance.now() - t1) / 1000).toFixed(2)} s wall`]);
  const an = await runStep('answers', env);
  const f = await h.batch.ledger.get(file);
  if (f?.state !== 'acknowledged' || f.applied !== N) throw new Error(`not every record was applied: ${JSON.stringify(f)}`);

  const step = (label: string, s: Figures) => {
    rows.push([`${label}: wall`, `${(s.ms / 1000).toFixed(2)} s (${rate(s.ms)} records/s)`]);
    rows.push([`${label}: CPU (user + system)`, `${(s.cpuMs / 1000).toFixed(2)} s (${rate(s.cpuMs)} records per CPU second)`]);
    rows.push([`${label}: peak RSS / peak heap`, `${s.maxRssMiB} MiB / ${s.heapPeakMiB} MiB (RSS ${s.rssBeforeMiB} MiB before the step)`]);
  };
  rows.push(['file', `${file}, ${size.toLocaleString('en')} bytes`]);
  step('export (claim + streamed .PART + rename)', ex.figures);
  if (ex.figures.uploadMs !== null) rows.push(['export: upload (.PART written)', `${(ex.figures.uploadMs / 1000).toFixed(2)} s wall`]);
  step('answers (ACK applied to changes + operations)', an.figures);
  rows.push(['answers / export', `${(an.figures.ms / ex.figures.ms).toFixed(2)} wall, ${(an.figures.cpuMs / ex.figures.cpuMs).toFixed(2)} CPU`]);
  rows.push(['load average (1/5/15 min)', `${loadBefore} before, ${load()} after`]);
  const w = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(`bench/tpu: ${N.toLocaleString('en')} changes\n${rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n')}\n`);
} finally {
  await h.close();
  await redis.stop();
}
