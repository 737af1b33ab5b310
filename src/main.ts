/**
 * Composition root: loadConfig → logger → startGateway (Redis, legacy adapters or embedded
 * simulators, queues/workers, HTTP) → banner; SIGTERM/SIGINT shut it down once, in order.
 */
import { ConfigError, describeConfig, loadConfig } from './config.ts';
import { RedisBinaryMissingError } from './infra/redis-server.ts';
import { createLogger } from './infra/logger.ts';
import { startGateway, type Gateway } from './gateway.ts';

function banner(gw: Gateway): string {
  const lines = [
    '',
    `legacy-gateway is listening on ${gw.url ?? '(not listening)'}`,
    `  API           ${gw.url}/v1`,
    `  OpenAPI       ${gw.url}/openapi.json`,
    `  Docs          ${gw.url}/docs`,
    `  Health        ${gw.url}/health/ready`,
    `  Metrics       ${gw.metricsServer?.url ?? 'off (set METRICS_PORT)'}`,
    `  Ops           ${gw.url}/ops/dead-letters   (queue console: ${gw.url}/ops/queues)`,
    `  Redis         ${gw.redis.url} (${gw.redis.source})`,
  ];
  const sftpSim = gw.fileExchange.simulator;
  if (sftpSim) {
    lines.push(
      `  Simulated SFTP sftp://${sftpSim.username}@${sftpSim.host}:${sftpSim.port}   (host key ${sftpSim.hostKeySha256}; folder ${sftpSim.root})`,
      `                TERMSTAT now: POST ${new URL('/_sim/termstat', gw.simulators?.tmo.url ?? 'http://127.0.0.1').href}   pick-up now: POST ${new URL('/_sim/batch/pickup', gw.simulators?.tmo.url ?? 'http://127.0.0.1').href}`,
    );
  } else if (gw.fileExchange.files) {
    lines.push('  SFTP          TMO batch exchange (SFTP_HOST)');
  } else {
    lines.push('  SFTP          off (SFTP_HOST not set)');
  }
  if (gw.simulators) {
    lines.push(
      `  Simulated TMO ${gw.simulators.tmo.url}   (faults: PUT ${new URL('/_sim/faults', gw.simulators.tmo.url).href})`,
      `  Simulated CRM ${gw.simulators.crm.url}   (faults: PUT ${new URL('/_sim/faults', gw.simulators.crm.url).href})`,
      '',
      'Get a token (embedded dev keys, every scope incl. partners:* and ops:*):  TOKEN=$(npm run -s token -- --sub <your name>)',
      'Then:  curl -H "Authorization: Bearer $TOKEN" ' + `${gw.url}/v1/merchants`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`legacy-gateway: invalid configuration\n${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel });
  // the full (secret-free) configuration is for debugging; at info a one-line summary
  logger.debug({ config: describeConfig(config) }, 'configuration');
  logger.info({ mode: config.mode, port: config.port, logLevel: config.logLevel }, 'starting (LOG_LEVEL=debug logs the whole configuration)');

  let gw: Gateway;
  try {
    gw = await startGateway(config, logger);
  } catch (err) {
    if (err instanceof RedisBinaryMissingError) {
      process.stderr.write(`legacy-gateway: ${err.message}\n`);
      process.exit(3);
    }
    logger.fatal({ err }, 'start-up failed');
    process.exit(1);
  }
  process.stdout.write(banner(gw));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'already shutting down');
      return;
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: no new requests, finishing running jobs');
    void gw.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

await main();
