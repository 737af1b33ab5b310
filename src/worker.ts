/**
 * A worker-only process (`npm run worker`): the same queues, adapters and services as the
 * gateway, without HTTP (no app, dev keys or idempotency client). Several may run beside the
 * gateways; BullMQ's locks share the jobs. Needs connected mode: the gateway's REDIS_URL,
 * REDIS_KEY_PREFIX, legacy URLs and payload keys (`npm run simulators` writes such an
 * environment for the simulators). Refuses embedded mode, where it could never see the
 * gateway's jobs.
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
if (config.mode === 'embedded') {
  process.stderr.write(
    'legacy-gateway worker: refusing to start in embedded mode (TMO_URL and CRM_URL unset).\n' +
      'An embedded gateway starts its own in-memory simulators and keys its queues with a per-boot Redis prefix, so a\n' +
      'separate worker would never see its jobs (and would write to simulators nobody reads). Either keep the workers\n' +
      'in the gateway (WORKERS_IN_PROCESS=true, the default), or run `npm run simulators` and start the gateway and\n' +
      'workers with the environment it prints (README, "Gateway and workers as separate processes").\n',
  );
  process.exit(2);
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
