/**
 * `npm run simulators`: both legacy SOAP simulators as one standalone process, on fixed ports
 * (SIMULATOR_TMO_PORT 8081, SIMULATOR_CRM_PORT 8082), so a gateway and any number of
 * `npm run worker` processes can share them (and one Redis) in connected mode. Writes the
 * environment those processes need to `<DEV_DATA_DIR>/simulators.env` and prints how to use it
 * (README, "Gateway and workers as separate processes"). Dev only: the credentials, the token
 * keys and the payload key it hands out are the dev ones.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDevKeys } from '../src/api/auth/dev-keys.ts';
import { ConfigError, DEV_AUTH, DEV_LEGACY_CREDENTIALS, ensureDevPayloadKey, loadSimulatorsConfig } from '../src/config.ts';
import { startCrmSimulator, startTmoSimulator } from '../src/simulators/index.ts';

let config;
try {
  config = loadSimulatorsConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`legacy-gateway simulators: invalid configuration\n${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

const { tmo: tmoCredentials, crm: crmCredentials } = DEV_LEGACY_CREDENTIALS;
const [tmo, crm] = await Promise.all([
  startTmoSimulator({ port: config.tmoPort, host: config.host, credentials: tmoCredentials, timeZone: config.legacyTimeZone }),
  startCrmSimulator({ port: config.crmPort, host: config.host, credentials: crmCredentials, timeZone: config.legacyTimeZone }),
]);
const keys = await ensureDevKeys(config.devDataDir);
const [payloadKey] = ensureDevPayloadKey(config.devDataDir);
if (!payloadKey) throw new Error('no dev payload key');

const env: Record<string, string> = {
  REDIS_URL: config.redisUrl,
  // the simulators speak plain http on loopback
  LEGACY_ALLOW_PLAINTEXT: 'true',
  TMO_URL: tmo.url,
  TMO_USERNAME: tmoCredentials.username,
  TMO_PASSWORD: tmoCredentials.password,
  CRM_URL: crm.url,
  CRM_USERNAME: crmCredentials.username,
  CRM_PASSWORD: crmCredentials.password,
  LEGACY_TIME_ZONE: config.legacyTimeZone,
  // `npm run token` signs with the dev key behind this JWKS file
  AUTH_JWKS_FILE: keys.jwksFile,
  AUTH_ISSUER: DEV_AUTH.issuer,
  AUTH_AUDIENCE: DEV_AUTH.audience,
  PAYLOAD_ENCRYPTION_KEYS: `${payloadKey.id}:${payloadKey.key.toString('base64')}`,
  DEV_DATA_DIR: config.devDataDir,
};
const envFile = join(config.devDataDir, 'simulators.env');
writeFileSync(envFile, `# written by npm run simulators (dev credentials and keys only)\n${Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n')}\n`, {
  mode: 0o600,
});

process.stdout.write(
  [
    '',
    `Simulated TMO ${tmo.url}   (faults: PUT ${new URL('/_sim/faults', tmo.url).href}, clear with {})`,
    `Simulated CRM ${crm.url}   (faults: PUT ${new URL('/_sim/faults', crm.url).href}, clear with {})`,
    `Environment   ${envFile}`,
    '',
    `Gateway and workers (each in its own terminal; they share the Redis on ${config.redisUrl}):`,
    `  set -a; . ${envFile}; set +a`,
    '  WORKERS_IN_PROCESS=false npm start',
    '  npm run worker',
    '',
    'simulators ready',
    '',
  ].join('\n'),
);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void Promise.allSettled([tmo.close(), crm.close()]).then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
