import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEV_AUTH, DEV_LEGACY_CREDENTIALS, describeConfig, ensureDevPayloadKey, loadConfig } from './config.ts';

const KEY1 = Buffer.alloc(32, 1).toString('base64');
const KEY2 = Buffer.alloc(32, 2).toString('base64');

/** A complete connected-mode environment; tests override or delete single variables. */
const CONNECTED: NodeJS.ProcessEnv = {
  TMO_URL: 'https://tmo.example.test/ws',
  TMO_USERNAME: 'gw',
  TMO_PASSWORD: 'tmo-Secret-1',
  CRM_URL: 'https://crm.example.test/ws',
  CRM_USERNAME: 'gw',
  CRM_PASSWORD: 'crm-Secret-2',
  AUTH_JWKS_URL: 'https://idp.example.test/.well-known/jwks.json',
  AUTH_ISSUER: 'https://idp.example.test/',
  AUTH_AUDIENCE: 'legacy-gateway',
  PAYLOAD_ENCRYPTION_KEYS: `k2:${KEY2},k1:${KEY1}`,
  REDIS_URL: 'redis://redis.internal:6379',
};

function errorOf(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('when the environment is empty, then it is embedded mode with documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      mode: 'embedded',
      port: 8080,
      host: '127.0.0.1',
      logLevel: 'info',
      redisUrl: undefined,
      legacyTimeZone: 'Europe/Rome',
      auth: { mode: 'dev', issuer: DEV_AUTH.issuer, audience: DEV_AUTH.audience },
      bodyLimitBytes: 65_536,
      idempotencyTtlSeconds: 86_400,
      payloadEncryption: { source: 'dev' },
      workers: { inProcess: true, concurrency: 8 },
      devDataDir: resolve('.tmp/dev'),
      batchExport: { exportCron: '0 1 * * *', timeZone: 'Europe/Rome', answerPollMs: 60_000, answerOverdueMs: 21_600_000, nakMaxResends: 1 },
    });
    expect(c.tmo).toEqual({
      url: undefined,
      ...DEV_LEGACY_CREDENTIALS.tmo,
      timeoutMs: 3000,
      breaker: { errorThresholdPct: 50, volumeThreshold: 5, resetMs: 10_000, rollingWindowMs: 10_000 },
      bulkhead: { maxConcurrency: 64, maxQueue: 256 },
      retry: { attempts: 8, backoffMs: 2000, maxAgeMs: 3_600_000 },
      tls: { caFile: undefined, clientCertFile: undefined, clientKeyFile: undefined },
    });
    expect(c.crm.username).toBe(DEV_LEGACY_CREDENTIALS.crm.username);
  });

  it('when the call has no argument, then it reads process.env', () => {
    expect(loadConfig().port).toBe(loadConfig({ ...process.env }).port);
  });

  it('when loaded, then the result is deeply frozen', () => {
    const c = loadConfig(CONNECTED);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.tmo.breaker)).toBe(true);
    expect(Object.isFrozen(c.auth)).toBe(true);
    expect(c.payloadEncryption.source === 'env' && Object.isFrozen(c.payloadEncryption.keys)).toBe(true);
    expect(() => {
      (c as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('when everything is set for real legacy systems, then it is connected mode with those values', () => {
    const c = loadConfig({
      ...CONNECTED,
      PORT: '9000',
      HOST: '0.0.0.0',
      LOG_LEVEL: 'DEBUG',
      REDIS_URL: 'redis://:pw@redis.internal:6380/2',
      TMO_TIMEOUT_MS: '1500',
      CRM_MAX_QUEUE: '0',
      TMO_RETRY_ATTEMPTS: '3',
      LEGACY_TIME_ZONE: 'europe/rome',
      WORKERS_IN_PROCESS: 'no',
      WORKER_CONCURRENCY: '2',
      WORKER_LOCK_MS: '5000',
      WORKER_STALLED_INTERVAL_MS: '2000',
      OPERATION_LEASE_MS: '4000',
      REDIS_KEY_PREFIX: 'gw-eu1',
      DEV_DATA_DIR: '/var/lib/gw',
    });
    expect(c).toMatchObject({
      mode: 'connected',
      port: 9000,
      host: '0.0.0.0',
      logLevel: 'debug',
      redisUrl: 'redis://:pw@redis.internal:6380/2',
      legacyTimeZone: 'Europe/Rome',
      auth: { mode: 'jwks-url', jwksUrl: CONNECTED.AUTH_JWKS_URL, issuer: CONNECTED.AUTH_ISSUER, audience: 'legacy-gateway' },
      workers: { inProcess: false, concurrency: 2, lockMs: 5000, stalledIntervalMs: 2000, leaseMs: 4000 },
      redisKeyPrefix: 'gw-eu1',
      devDataDir: '/var/lib/gw',
    });
    expect(c.tmo).toMatchObject({ url: CONNECTED.TMO_URL, username: 'gw', password: 'tmo-Secret-1', timeoutMs: 1500 });
    expect(c.tmo.retry.attempts).toBe(3);
    expect(c.crm.bulkhead.maxQueue).toBe(0);
    expect(c.payloadEncryption.source === 'env' && c.payloadEncryption.keys.map((k) => k.id)).toEqual(['k2', 'k1']);
    expect(c.payloadEncryption.source === 'env' && c.payloadEncryption.keys[0]?.key.equals(Buffer.alloc(32, 2))).toBe(true);
  });

  it('when a JWKS file is given instead of a URL, then auth uses the file', () => {
    const { AUTH_JWKS_URL: _, ...env } = CONNECTED;
    const c = loadConfig({ ...env, AUTH_JWKS_FILE: 'keys/jwks.json' });
    expect(c.auth).toEqual({ mode: 'jwks-file', jwksFile: resolve('keys/jwks.json'), issuer: CONNECTED.AUTH_ISSUER, audience: 'legacy-gateway', subjectClaim: 'sub' });
  });

  it('when LEGACY_ALLOW_PLAINTEXT is true, then http:// legacy URLs are accepted and the flag is kept (the gateway warns)', () => {
    const c = loadConfig({ ...CONNECTED, TMO_URL: 'http://tmo.example.test/ws', CRM_URL: 'http://crm.example.test/ws', LEGACY_ALLOW_PLAINTEXT: 'true' });
    expect(c).toMatchObject({ mode: 'connected', legacyAllowPlaintext: true, tmo: { url: 'http://tmo.example.test/ws' } });
    expect(loadConfig(CONNECTED).legacyAllowPlaintext).toBe(false);
  });

  it('when the shutdown and Redis safety variables are set, then they are read; by default persistence is required and shutdown has 30 s', () => {
    expect(loadConfig({ ...CONNECTED, SHUTDOWN_TIMEOUT_MS: '5000', REDIS_ALLOW_NO_PERSISTENCE: 'yes' })).toMatchObject({ shutdownTimeoutMs: 5000, redisAllowNoPersistence: true });
    expect(loadConfig({})).toMatchObject({ shutdownTimeoutMs: 30_000, redisAllowNoPersistence: false });
    expect(errorOf({ SHUTDOWN_TIMEOUT_MS: '10' }).message).toContain('SHUTDOWN_TIMEOUT_MS: must be an integer 1000–600000');
  });

  it('when AUTH_SUBJECT_CLAIM names another claim, then auth identifies callers by it', () => {
    expect(loadConfig({ ...CONNECTED, AUTH_SUBJECT_CLAIM: 'client_id' }).auth.subjectClaim).toBe('client_id');
    expect(loadConfig({}).auth.subjectClaim).toBe('sub');
  });

  it('when the worker loads a connected environment without AUTH_*, then it starts (no API, no tokens) while the gateway still requires them', () => {
    const noAuth = Object.fromEntries(Object.entries(CONNECTED).filter(([k]) => !k.startsWith('AUTH_')));
    const worker = loadConfig(noAuth, 'worker');
    expect(worker).toMatchObject({ mode: 'connected', auth: { mode: 'none' } });
    expect(describeConfig(worker).auth).toEqual({ mode: 'none' });
    // the gateway reading the same environment refuses, naming the variable
    expect(errorOf(noAuth).message).toContain('AUTH_JWKS_URL: is required (or AUTH_JWKS_FILE)');
    // a shared environment file may hold AUTH_* (even ones the gateway would refuse): the worker reads none of them
    expect(loadConfig({ ...CONNECTED, AUTH_JWKS_URL: 'ftp://nope', AUTH_ISSUER: '' }, 'worker').auth).toEqual({ mode: 'none', subjectClaim: 'sub' });
    expect(loadConfig(CONNECTED).auth.mode).toBe('jwks-url');
  });

  it('when a variable is empty, then it counts as unset', () => {
    expect(loadConfig({ PORT: '', TMO_URL: '  ', LOG_LEVEL: '' })).toMatchObject({ port: 8080, mode: 'embedded', logLevel: 'info', redisKeyPrefix: 'lgw' });
  });

  it.each([
    ['PORT', 'abc', 'PORT: must be an integer 0–65535 (got "abc")'],
    ['PORT', '-1', 'PORT: must be an integer 0–65535 (got "-1")'],
    ['PORT', '65536', 'PORT: must be an integer 0–65535'],
    ['PORT', '80.5', 'PORT: must be an integer 0–65535'],
    ['REDIS_KEY_PREFIX', 'a b', 'REDIS_KEY_PREFIX: must be 1–32 letters, digits, _ or -'],
    ['WORKER_LOCK_MS', '10', 'WORKER_LOCK_MS: must be an integer 1000–600000'],
    ['HOST', 'not a host!', 'HOST: must be an IP address or a host name'],
    ['LOG_LEVEL', 'verbose', 'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "verbose")'],
    ['REDIS_URL', 'localhost:6379', 'REDIS_URL: must be a redis:// or rediss:// URL'],
    ['TMO_TIMEOUT_MS', '-1', 'TMO_TIMEOUT_MS: must be an integer 1–120000'],
    ['CRM_BREAKER_ERROR_THRESHOLD_PCT', '150', 'CRM_BREAKER_ERROR_THRESHOLD_PCT: must be an integer 1–100'],
    ['TMO_MAX_CONCURRENCY', '0', 'TMO_MAX_CONCURRENCY: must be an integer 1–10000'],
    ['CRM_RETRY_ATTEMPTS', 'many', 'CRM_RETRY_ATTEMPTS: must be an integer 1–100'],
    ['LEGACY_TIME_ZONE', 'Mars/Olympus', 'LEGACY_TIME_ZONE: must be an IANA time zone'],
    ['WORKERS_IN_PROCESS', 'maybe', 'WORKERS_IN_PROCESS: must be true or false'],
    ['BODY_LIMIT_BYTES', '10', 'BODY_LIMIT_BYTES: must be an integer 1024–10485760'],
    ['IDEMPOTENCY_TTL_SECONDS', '5', 'IDEMPOTENCY_TTL_SECONDS: must be an integer 60–2592000'],
    ['AUTH_JWKS_URL', 'ftp://x/jwks', 'AUTH_JWKS_URL: must be a http:// or https:// URL'],
    ['AUTH_SUBJECT_CLAIM', 'a claim', 'AUTH_SUBJECT_CLAIM: must be a claim name'],
    ['BATCH_EXPORT_CRON', '0 1 * *', 'BATCH_EXPORT_CRON: must be a cron expression of 5 fields'],
    ['BATCH_EXPORT_CRON', '0 1 * * * * *', 'BATCH_EXPORT_CRON: must be a cron expression of 5 fields'],
    ['BATCH_TIME_ZONE', 'Rome', 'BATCH_TIME_ZONE: must be an IANA time zone'],
    ['BATCH_ANSWER_POLL_MS', '10', 'BATCH_ANSWER_POLL_MS: must be an integer 1000–86400000'],
    ['BATCH_ANSWER_OVERDUE_MS', '0', 'BATCH_ANSWER_OVERDUE_MS: must be an integer 60000–2592000000'],
    ['BATCH_NAK_MAX_RESENDS', '11', 'BATCH_NAK_MAX_RESENDS: must be an integer 0–10'],
  ])('when %s is %j, then the error says %j', (name, value, expected) => {
    expect(errorOf({ [name]: value }).message).toContain(expected);
  });

  it('when several variables are bad, then one error names every one of them', () => {
    const err = errorOf({ PORT: 'abc', LOG_LEVEL: 'loud', TMO_TIMEOUT_MS: 'soon', CRM_MAX_QUEUE: '-3', TMO_URL: 'https://tmo.test' });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.issues.map((i) => i.variable).sort()).toEqual(
      ['AUTH_JWKS_URL', 'CRM_MAX_QUEUE', 'CRM_URL', 'LOG_LEVEL', 'PAYLOAD_ENCRYPTION_KEYS', 'PORT', 'REDIS_URL', 'TMO_PASSWORD', 'TMO_TIMEOUT_MS', 'TMO_USERNAME'].sort(),
    );
    for (const i of err.issues) expect(err.message).toContain(`${i.variable}: ${i.message}`);
  });

  it.each([
    ['only TMO_URL is set', { TMO_URL: 'https://tmo.test' }, 'CRM_URL', /set both TMO_URL and CRM_URL .* or neither/],
    ['only CRM_URL is set', { CRM_URL: 'https://crm.test' }, 'TMO_URL', /set both/],
    ['TMO_URL has no password', { ...CONNECTED, TMO_PASSWORD: undefined }, 'TMO_PASSWORD', /required when TMO_URL is set/],
    ['CRM_URL has no username', { ...CONNECTED, CRM_USERNAME: '' }, 'CRM_USERNAME', /required when CRM_URL is set/],
    ['connected mode has no JWKS', { ...CONNECTED, AUTH_JWKS_URL: undefined }, 'AUTH_JWKS_URL', /AUTH_JWKS_FILE/],
    ['both JWKS variables are set', { ...CONNECTED, AUTH_JWKS_FILE: 'jwks.json' }, 'AUTH_JWKS_FILE', /not both/],
    ['a JWKS has no issuer', { AUTH_JWKS_FILE: 'jwks.json', AUTH_AUDIENCE: 'a' }, 'AUTH_ISSUER', /required with AUTH_JWKS/],
    ['a JWKS has no audience', { ...CONNECTED, AUTH_AUDIENCE: undefined }, 'AUTH_AUDIENCE', /required with AUTH_JWKS/],
    ['connected mode has no payload keys', { ...CONNECTED, PAYLOAD_ENCRYPTION_KEYS: undefined }, 'PAYLOAD_ENCRYPTION_KEYS', /required/],
    ['connected mode has no REDIS_URL', { ...CONNECTED, REDIS_URL: undefined }, 'REDIS_URL', /required when TMO_URL\/CRM_URL are set.*never starts a private redis-server/],
    ['TMO_URL is plain http', { ...CONNECTED, TMO_URL: 'http://tmo.example.test/ws' }, 'TMO_URL', /must be an https:\/\/ URL .*LEGACY_ALLOW_PLAINTEXT=true/],
    ['CRM_URL is plain http', { ...CONNECTED, CRM_URL: 'HTTP://crm.example.test/ws' }, 'CRM_URL', /must be an https:\/\/ URL/],
  ])('when %s, then %s is named', (_case, env: NodeJS.ProcessEnv, variable, message) => {
    const err = errorOf(env);
    const issue = err.issues.find((i) => i.variable === variable);
    expect(issue?.message).toMatch(message);
  });

  it.each([
    ['no colon', 'abc', /entry 1 must look like id:<base64>/],
    ['a short key', `k1:${Buffer.alloc(16).toString('base64')}`, /key "k1" must be base64 of exactly 32 bytes/],
    ['not base64', 'k1:%%%%', /key "k1" must be base64/],
    ['a duplicate id', `k1:${KEY1},k1:${KEY2}`, /key id "k1" appears twice/],
  ])('when PAYLOAD_ENCRYPTION_KEYS has %s, then the error says why without echoing the value', (_case, value, message) => {
    const err = errorOf({ PAYLOAD_ENCRYPTION_KEYS: value });
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain(value);
  });

  it('when a password is set with a bad neighbour, then the error never shows the password', () => {
    const err = errorOf({ ...CONNECTED, PORT: 'x' });
    expect(err.message).not.toContain('tmo-Secret-1');
    expect(err.message).not.toContain(KEY1);
  });
});

describe('loadConfig: surfaces and retention', () => {
  it.each([
    ['embedded, unset', {}, 0],
    ['connected, unset', CONNECTED, null],
    ['connected, set', { ...CONNECTED, METRICS_PORT: '9464' }, 9464],
    ['embedded, off', { METRICS_PORT: 'off' }, null],
  ] as const)('when METRICS_PORT is %s, then the metrics listener port is %j', (_case, env, port) => {
    expect(loadConfig({ ...env }).metricsPort).toBe(port);
  });

  it('when CORS_ORIGINS is unset, then CORS is off; when it lists origins, then exactly those', () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example, http://localhost:3000' }).corsOrigins).toEqual([
      'https://a.example',
      'http://localhost:3000',
    ]);
  });

  it.each([
    ['METRICS_PORT', '70000', 'METRICS_PORT: must be a port 0–65535 or off'],
    ['CORS_ORIGINS', '*', 'CORS_ORIGINS: "*" is not an origin'],
    ['CORS_ORIGINS', 'https://a.example/', 'is not an origin'],
    ['CORS_ORIGINS', 'https://a.example/path', 'is not an origin'],
    ['OPERATION_RETENTION_DAYS', '0', 'OPERATION_RETENTION_DAYS: must be an integer 1–3650'],
    ['AUDIT_RETENTION_DAYS', 'forever', 'AUDIT_RETENTION_DAYS: must be an integer 1–3650'],
  ])('when %s is %j, then the error says %j', (name, value, expected) => {
    expect(errorOf({ [name]: value }).message).toContain(expected);
  });

  it('when the retention variables are unset, then operations keep 30 days and the audit 400', () => {
    expect(loadConfig({}).retention).toEqual({ operationDays: 30, auditDays: 400 });
    expect(loadConfig({ OPERATION_RETENTION_DAYS: '7', AUDIT_RETENTION_DAYS: '365' }).retention).toEqual({ operationDays: 7, auditDays: 365 });
  });
});

describe('loadConfig: SFTP', () => {
  const FP = `SHA256:${'a'.repeat(42)}Q`;
  const SFTP = { SFTP_HOST: 'sftp.tmo.example.test', SFTP_USERNAME: 'gateway', SFTP_PRIVATE_KEY_FILE: '/etc/lgw/id_ed25519' };

  it('when no SFTP variable is set, then the host is unset and the documented defaults apply', () => {
    expect(loadConfig({}).sftp).toEqual({
      host: undefined,
      port: 22,
      username: undefined,
      privateKeyFile: undefined,
      hostKeySha256: [],
      knownHostsFile: undefined,
      connectTimeoutMs: 10_000,
      timeoutMs: 30_000,
      inactivityTimeoutMs: 30_000,
      readDepth: 64,
      simPickupMs: 5_000,
    });
  });

  it('when a real server is configured with pinned fingerprints, then they are all kept', () => {
    const c = loadConfig({ ...SFTP, SFTP_PORT: '2222', SFTP_HOST_KEY_SHA256: `${FP}, SHA256:${'b'.repeat(43)}`, SFTP_READ_DEPTH: '1' });
    expect(c.sftp).toMatchObject({ host: 'sftp.tmo.example.test', port: 2222, hostKeySha256: [FP, `SHA256:${'b'.repeat(43)}`], readDepth: 1 });
  });

  it.each([
    [{ ...SFTP }, 'SFTP_HOST_KEY_SHA256', 'exactly one'],
    [{ ...SFTP, SFTP_HOST_KEY_SHA256: FP, SFTP_KNOWN_HOSTS_FILE: '/etc/ssh/known' }, 'SFTP_HOST_KEY_SHA256', 'exactly one'],
    [{ ...SFTP, SFTP_HOST_KEY_SHA256: 'MD5:aa:bb' }, 'SFTP_HOST_KEY_SHA256', 'ssh-keygen -lf'],
    [{ ...SFTP, SFTP_HOST_KEY_SHA256: `${FP}=` }, 'SFTP_HOST_KEY_SHA256', 'ssh-keygen -lf'],
    [{ SFTP_HOST: 'sftp.example.test', SFTP_KNOWN_HOSTS_FILE: '/k' }, 'SFTP_USERNAME', 'required'],
    [{ SFTP_HOST: 'sftp.example.test', SFTP_KNOWN_HOSTS_FILE: '/k', SFTP_USERNAME: 'u' }, 'SFTP_PRIVATE_KEY_FILE', 'required'],
    [{ SFTP_READ_DEPTH: '0' }, 'SFTP_READ_DEPTH', '1–256'],
    [{ SFTP_HOST: 'not a host' }, 'SFTP_HOST', 'host name'],
  ])('when the SFTP variables are %o, then %s is reported (%s)', (env, variable, message) => {
    const issue = errorOf(env).issues.find((i) => i.variable === variable);
    expect(issue?.message).toContain(message);
  });
});

describe('loadConfig: rate limits', () => {
  it('when no RATE_LIMIT variable is set, then limits are on, with ops writes the lowest', () => {
    expect(loadConfig({}).rateLimit).toEqual({ windowSeconds: 60, read: 6000, write: 1200, opsRead: 1200, opsWrite: 120 });
  });

  it('when limits are set, then they are kept (0 = unlimited for that group); RATE_LIMIT_ENABLED=false turns them off', () => {
    const env = { RATE_LIMIT_WINDOW_SECONDS: '10', RATE_LIMIT_READS: '0', RATE_LIMIT_WRITES: '5', RATE_LIMIT_OPS_READS: '7', RATE_LIMIT_OPS_WRITES: '1' };
    expect(loadConfig(env).rateLimit).toEqual({ windowSeconds: 10, read: 0, write: 5, opsRead: 7, opsWrite: 1 });
    expect(loadConfig({ ...env, RATE_LIMIT_ENABLED: 'false' }).rateLimit).toBeNull();
  });

  it.each([
    ['RATE_LIMIT_WINDOW_SECONDS', '0', '1–3600'],
    ['RATE_LIMIT_OPS_WRITES', '-1', 'must be an integer'],
    ['RATE_LIMIT_ENABLED', 'maybe', 'true or false'],
  ])('when %s is %j, then the error says %j', (name, value, expected) => {
    expect(errorOf({ [name]: value }).issues.find((i) => i.variable === name)?.message).toContain(expected);
  });
});

describe('loadConfig: TLS to the legacy systems', () => {
  it('when CA and client certificate files are set, then their absolute paths are kept per system', () => {
    const c = loadConfig({ ...CONNECTED, TMO_CA_FILE: 'certs/ca.pem', CRM_CLIENT_CERT_FILE: '/etc/lgw/crm.crt', CRM_CLIENT_KEY_FILE: '/etc/lgw/crm.key' });
    expect(c.tmo.tls).toEqual({ caFile: resolve('certs/ca.pem'), clientCertFile: undefined, clientKeyFile: undefined });
    expect(c.crm.tls).toEqual({ caFile: undefined, clientCertFile: '/etc/lgw/crm.crt', clientKeyFile: '/etc/lgw/crm.key' });
  });

  it.each<[NodeJS.ProcessEnv, string]>([
    [{ TMO_CA_FILE: '/etc/lgw/ca.pem' }, 'embedded mode'],
    [{ ...CONNECTED, TMO_URL: 'http://tmo.example.test/ws', LEGACY_ALLOW_PLAINTEXT: 'true', TMO_CA_FILE: '/etc/lgw/ca.pem' }, 'an http:// URL'],
  ])('when TMO_CA_FILE is set with %o (%s), then it is reported as having no effect', (env, _label) => {
    expect(errorOf(env).issues).toContainEqual({ variable: 'TMO_CA_FILE', message: 'applies only to an https:// TMO_URL' });
  });

  it('when a client certificate is set without its key, then CLIENT_KEY_FILE is reported', () => {
    expect(errorOf({ ...CONNECTED, TMO_CLIENT_CERT_FILE: '/etc/lgw/tmo.crt' }).issues).toContainEqual({
      variable: 'TMO_CLIENT_KEY_FILE',
      message: expect.stringContaining('together'),
    });
  });
});

describe('loadConfig: tracing (OTEL_*)', () => {
  it.each([
    [{}, 'none'],
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, 'otlp'],
    [{ OTEL_TRACES_EXPORTER: 'CONSOLE' }, 'console'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, 'otlp'],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector/v1/traces' }, 'otlp'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' }, 'none'],
    [{ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' }, 'none'],
  ])('when the environment is %o, then the trace exporter is %s', (env, exporter) => {
    expect(loadConfig(env).tracing).toEqual({ exporter, serviceName: 'legacy-gateway' });
  });

  it('when OTEL_SERVICE_NAME is set, then the spans carry it', () => {
    expect(loadConfig({ OTEL_SERVICE_NAME: 'lgw-eu' }).tracing.serviceName).toBe('lgw-eu');
  });

  it.each([
    [{ OTEL_TRACES_EXPORTER: 'zipkin' }, 'OTEL_TRACES_EXPORTER', 'otlp, console or none'],
    [{ OTEL_SDK_DISABLED: 'maybe' }, 'OTEL_SDK_DISABLED', 'true or false'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317' }, 'OTEL_EXPORTER_OTLP_ENDPOINT', 'http'],
  ])('when %o, then %s is reported (%s)', (env, variable, message) => {
    expect(errorOf(env).issues.find((i) => i.variable === variable)?.message).toContain(message);
  });

  it('when a collector URL with a credential is invalid, then the error does not echo it', () => {
    const err = errorOf({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'ftp://user:otlp-Secret-9@collector' });
    expect(err.issues.map((i) => i.variable)).toEqual(['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']);
    expect(err.message).not.toContain('otlp-Secret-9');
  });
});

describe('describeConfig', () => {
  it('when described, then passwords, keys and URL passwords are hidden and the rest is shown', () => {
    const summary = describeConfig(loadConfig({ ...CONNECTED, REDIS_URL: 'redis://user:redis-Secret-3@r:6379' }));
    const text = JSON.stringify(summary);
    for (const secret of ['tmo-Secret-1', 'crm-Secret-2', 'redis-Secret-3', KEY1, KEY2]) expect(text).not.toContain(secret);
    expect(summary).toMatchObject({
      mode: 'connected',
      redisUrl: 'redis://user:***@r:6379',
      tmo: { url: CONNECTED.TMO_URL, username: 'gw', password: '***' },
      payloadEncryption: { source: 'env', keyIds: ['k2', 'k1'], keys: '***' },
    });
  });

  it('when embedded, then the summary says where the simulators and dev keys are', () => {
    const summary = describeConfig(loadConfig({}));
    expect(summary).toMatchObject({ mode: 'embedded', tmo: { url: '(embedded simulator)', password: '***' }, auth: { mode: 'dev' } });
    expect(JSON.stringify(summary)).not.toContain(DEV_LEGACY_CREDENTIALS.tmo.password);
  });
});

describe('ensureDevPayloadKey', () => {
  it('when called twice on one directory, then it creates one 32-byte key and reuses it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lgw-config-'));
    try {
      const first = ensureDevPayloadKey(join(dir, 'dev'));
      const second = ensureDevPayloadKey(join(dir, 'dev'));
      expect(first[0]?.key.length).toBe(32);
      expect(second[0]?.key.equals(first[0]?.key ?? Buffer.alloc(0))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when the key file is corrupt, then a ConfigError says to delete it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lgw-config-'));
    try {
      writeFileSync(join(dir, 'payload-key.b64'), 'short');
      expect(() => ensureDevPayloadKey(dir)).toThrow(/delete it/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
