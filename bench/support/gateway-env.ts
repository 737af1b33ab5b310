/**
 * The environment the facade benches (`bench/facade/run.ts`, `bench/facade/ab.ts`) start a
 * gateway with: connected mode against the given simulators, RS256 tokens from a JWKS file,
 * a private Redis, and the rate limit on but above any bench's rate.
 */
export const BENCH_LEGACY_CREDENTIALS = { username: 'gateway', password: 'gateway-dev-secret' } as const;

export interface GatewayBenchEnv {
  port: number;
  logLevel: string;
  tmoUrl: string;
  crmUrl: string;
  jwksFile: string;
  issuer: string;
  audience: string;
  redisUrl: string;
  devDataDir: string;
  /** keys of this gateway on a Redis shared with another one (ab.ts runs two) */
  redisKeyPrefix?: string;
}

export function gatewayBenchEnv(o: GatewayBenchEnv): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: String(o.port),
    HOST: '127.0.0.1',
    LOG_LEVEL: o.logLevel,
    TMO_URL: o.tmoUrl,
    TMO_USERNAME: BENCH_LEGACY_CREDENTIALS.username,
    TMO_PASSWORD: BENCH_LEGACY_CREDENTIALS.password,
    CRM_URL: o.crmUrl,
    CRM_USERNAME: BENCH_LEGACY_CREDENTIALS.username,
    CRM_PASSWORD: BENCH_LEGACY_CREDENTIALS.password,
    AUTH_JWKS_FILE: o.jwksFile,
    AUTH_ISSUER: o.issuer,
    AUTH_AUDIENCE: o.audience,
    PAYLOAD_ENCRYPTION_KEYS: `bench:${Buffer.alloc(32, 7).toString('base64')}`,
    REDIS_URL: o.redisUrl,
    ...(o.redisKeyPrefix === undefined ? {} : { REDIS_KEY_PREFIX: o.redisKeyPrefix }),
    // loopback simulators speak plain HTTP; the bench Redis has no persistence
    LEGACY_ALLOW_PLAINTEXT: 'true',
    REDIS_ALLOW_NO_PERSISTENCE: 'true',
    // the rate limit stays on (its Redis round trips are part of a read's cost; the bench's one busy
    // client takes its points in leased blocks, as a busy client does) but above the bench's rate
    RATE_LIMIT_READS: '100000000',
    DEV_DATA_DIR: o.devDataDir,
  };
}
