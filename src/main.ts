/**
 * Composition root: loadConfig → logger → startGateway (Redis, legacy adapters or embedded
 * simulators, queues/workers, HTTP) → banner; SIGTERM/SIGINT shut it down once, in order
 * (`lifecycle.ts`: the same start-up failure and signal handling as the worker).
 */
import { startGateway, type Gateway } from './gateway.ts';
import { runProcess } from './lifecycle.ts';

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

await runProcess({
  name: 'legacy-gateway',
  start: (config, logger, signal) => startGateway(config, logger, { signal }),
  onStarted: (gw) => process.stdout.write(banner(gw)),
});
