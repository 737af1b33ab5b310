/**
 * A worker-only process (`npm run worker`): the same queues, adapters and services as the
 * gateway, without HTTP (no app, dev keys or idempotency client). Several may run beside the
 * gateways; BullMQ's locks share the jobs. Needs connected mode: the gateway's REDIS_URL,
 * REDIS_KEY_PREFIX, legacy URLs and payload keys (`npm run simulators` writes such an
 * environment for the simulators); no AUTH_* (it verifies no token: `loadConfig(env, 'worker')`
 * neither requires nor reads them). Refuses embedded mode, where it could never see the
 * gateway's jobs. Start-up failures, signals and the shutdown deadline are handled as in
 * `main.ts` (`lifecycle.ts`).
 */
import { startWorker } from './gateway.ts';
import { runProcess } from './lifecycle.ts';

await runProcess({
  name: 'legacy-gateway worker',
  role: 'worker',
  // no API here: AUTH_* are neither required nor read
  kind: 'worker',
  refuse: (config) =>
    config.mode === 'embedded'
      ? 'refusing to start in embedded mode (TMO_URL and CRM_URL unset).\n' +
        'An embedded gateway starts its own in-memory simulators and keys its queues with a per-boot Redis prefix, so a\n' +
        'separate worker would never see its jobs (and would write to simulators nobody reads). Either keep the workers\n' +
        'in the gateway (WORKERS_IN_PROCESS=true, the default), or run `npm run simulators` and start the gateway and\n' +
        'workers with the environment it prints (README, "Gateway and workers as separate processes").\n'
      : undefined,
  start: (config, logger, signal) => startWorker(config, logger, { signal }),
  onStarted: (worker, logger) => logger.info({ redis: worker.redis.source, metrics: worker.metricsServer?.url ?? 'off' }, 'worker started'),
});
