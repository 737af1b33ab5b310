/**
 * A worker-only process (`npm run worker`): the same queues, adapters and services as the
 * gateway, without HTTP (no app, dev keys or idempotency client). Several may run beside the
 * gateways; BullMQ's locks share the jobs. Needs the gateway's Redis: set REDIS_URL, and the
 * same legacy URLs (or none, for the embedded simulators — only useful for demos, since each
 * process then has its own).
 */
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './infra/logger.ts';
import { startWorker } from './gateway.ts';

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`legacy-gateway worker: invalid configuration\n${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
const logger = createLogger({ level: config.logLevel }).child({ role: 'worker' });
const worker = await startWorker(config, logger);
logger.info({ redis: worker.redis.source, metrics: worker.metricsServer?.url ?? 'off' }, 'worker started');

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'worker shutting down: finishing running jobs');
  void worker.close().then(() => process.exit(0), () => process.exit(1));
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
