/**
 * BullMQ's own floor for bench/queue: a worker on queue `floor` (same Redis, same prefix, same
 * concurrency as the measured worker) whose processor does nothing. Env: REDIS_URL,
 * CONCURRENCY. Prints `{"ready":true}` once connected; exits on SIGTERM.
 *
 * Plain JavaScript so that it runs on the measured worker's own runtime: under tsx when the
 * bench measures `src/worker.ts` (tsx's loader and source-map support on), on plain node when it
 * measures the build (`--entry dist/worker.js`); the ratio worker/floor compares like with like.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const worker = new Worker('floor', async () => null, {
  connection,
  prefix: '{lgw}:bull',
  concurrency: Number(process.env.CONCURRENCY ?? 16),
  removeOnComplete: { count: 10_000 },
});
await worker.waitUntilReady();
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
process.on('SIGTERM', () => {
  void worker.close().then(() => process.exit(0));
});
