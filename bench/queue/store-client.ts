/**
 * The job layer's Redis client on its own, in one process (`npx tsx bench/queue/store-client.ts
 * [--pairs 12] [--jobs 4000] [--concurrency 16]`): what one job of the worker sends on the
 * operations' client — the lease script (lease + record, marked running) and the success script
 * (record, dead letter, lease, last-known copy) — against a private redis-server, through two
 * clients: **auto** (ioredis `enableAutoPipelining`, the job layer's client before) and
 * **coalesced** (`coalesceWrites`: commands sent directly, one socket write per event-loop turn).
 * Alternating batches (`alternatePairs`), CPU µs per job of this process (`process.cpuUsage()`),
 * and socket writes per job. Without the legacy calls, BullMQ and the other processes, the
 * bench's noise (bench/queue/run.ts on a shared 2-core VM) does not drown a few per cent.
 */
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { redisClientOptions } from '../../src/infra/redis.ts';
import { startPrivateRedis } from '../../src/infra/redis-server.ts';
import { createKeys } from '../../src/jobs/keys.ts';
import { createOperationStore, operationFields } from '../../src/jobs/operation-store.ts';
import { freshRunSteps, initialSteps } from '../../src/jobs/runner.ts';
import { coalesceWrites } from '../../src/jobs/write-coalescing.ts';
import { alternatePairs, median } from '../support/ab-pairs.ts';

const { values: argv } = parseArgs({
  options: {
    pairs: { type: 'string', default: '12' },
    jobs: { type: 'string', default: '4000' },
    concurrency: { type: 'string', default: '16' },
  },
});
const PAIRS = Number(argv.pairs);
const JOBS = Number(argv.jobs);
const CONCURRENCY = Number(argv.concurrency);

const server = await startPrivateRedis();
const keys = createKeys('bench');
const TERMINAL = JSON.stringify({
  id: 'T000001',
  merchantId: 'mer_0001',
  tid: 'T000001',
  mid: 'M0000001',
  model: 'PAX A920',
  serialNumber: 'SN-0000001',
  status: 'active',
  contactless: true,
  currency: 'EUR',
  lastSeenAt: '2026-11-27T10:00:00.000Z',
});

function clientOf(kind: 'auto' | 'coalesced'): { redis: Redis; writes: () => number } {
  const redis =
    kind === 'auto'
      ? new Redis(server.url, { ...redisClientOptions('commands'), enableAutoPipelining: true })
      : coalesceWrites(new Redis(server.url, redisClientOptions('commands')));
  let writes = 0;
  const count = () => {
    const stream = redis.stream as unknown as { write: (...a: unknown[]) => boolean; __counted?: boolean };
    if (stream.__counted) return;
    stream.__counted = true;
    const write = stream.write;
    stream.write = function counted(this: unknown, ...a: unknown[]) {
      writes += 1;
      return write.apply(this, a);
    };
  };
  redis.on('connect', count);
  return { redis, writes: () => writes };
}

const sides = { auto: clientOf('auto'), coalesced: clientOf('coalesced') };
const stores = {
  auto: createOperationStore(sides.auto.redis, keys, { succeededTtlMs: 60_000, instanceId: 'bench' }),
  coalesced: createOperationStore(sides.coalesced.redis, keys, { succeededTtlMs: 60_000, instanceId: 'bench' }),
};
const setup = new Redis(server.url);
let seq = 0;

/** `n` jobs' Redis work, CONCURRENCY at a time; answers CPU µs and socket writes per job. */
async function batch(side: 'auto' | 'coalesced', n: number): Promise<{ us: number; writes: number }> {
  const store = stores[side];
  const ids = Array.from({ length: n }, () => `op_${side}_${seq++}`);
  // the records as submit writes them (not measured: the submitter's work)
  const pipe = setup.pipeline();
  const createdAt = new Date().toISOString();
  for (const id of ids) {
    pipe.hset(
      keys.operation(id),
      operationFields({ id, kind: 'terminal.status', status: 'queued', createdAt, principal: 'bench', requestId: 'bench', input: { terminalId: 'T000001', status: 'suspended', reason: 'merchant_request' }, progress: {}, steps: initialSteps('terminal.status'), resource: null, error: null, attempts: 0, run: 1 }),
    );
  }
  await pipe.exec();
  const w0 = sides[side].writes();
  const t0 = process.cpuUsage();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < n; i = next++) {
        const id = ids[i] as string;
        const steps = freshRunSteps('terminal.status', new Date().toISOString());
        const held = await store.acquireLeaseAndGet(id, 30_000, { kind: 'terminal.status', steps });
        if (!held?.op) throw new Error('no record');
        // the legacy calls' turn: the success script of a job leaves in a later turn than its lease script
        await new Promise<void>((r) => setImmediate(r));
        await store.finishSucceeded(id, { type: 'terminal', id: 'T000001' }, steps, 60_000, held.lease, { key: `${keys.prefix}:lk:terminal:T000001`, record: `{"v":1,"at":${Date.now()},"data":${TERMINAL}}`, ttlSeconds: 600, failed: () => undefined });
      }
    }),
  );
  const cpu = process.cpuUsage(t0);
  return { us: (cpu.user + cpu.system) / n, writes: (sides[side].writes() - w0) / n };
}

await sides.auto.redis.ping();
await sides.coalesced.redis.ping();
for (let i = 0; i < 4; i++) {
  await batch('auto', JOBS / 2);
  await batch('coalesced', JOBS / 2);
}
const la0 = loadavg().map((x) => x.toFixed(2)).join(' ');
const results = await alternatePairs(['auto', 'coalesced'] as const, PAIRS, (side) => batch(side, JOBS));
const la1 = loadavg().map((x) => x.toFixed(2)).join(' ');
const a = results.map((r) => r.auto);
const b = results.map((r) => r.coalesced);
console.log(`${new Date().toISOString()} loadavg ${la0} → ${la1}; ${PAIRS} pairs of ${JOBS} jobs, ${CONCURRENCY} in flight`);
console.log(`CPU µs/job, median: auto-pipelined ${median(a.map((x) => x.us)).toFixed(1)}, coalesced ${median(b.map((x) => x.us)).toFixed(1)}; coalesced/auto per pair ×${median(results.map((r) => r.coalesced.us / r.auto.us)).toFixed(3)} (${results.map((r) => (r.coalesced.us / r.auto.us).toFixed(2)).join(' ')})`);
console.log(`socket writes/job, median: auto-pipelined ${median(a.map((x) => x.writes)).toFixed(2)}, coalesced ${median(b.map((x) => x.writes)).toFixed(2)}`);
await Promise.all([sides.auto.redis.quit(), sides.coalesced.redis.quit(), setup.quit()]);
await server.stop();
process.exit(0);
