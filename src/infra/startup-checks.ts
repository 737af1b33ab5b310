/**
 * The checks that run once at start-up, before the gateway builds anything on Redis or calls a
 * legacy system (issue 7 "Durable means durable"; defect 7). One call from `startGateway`.
 */
import type { Config } from '../config.ts';
import type { Logger } from './logger.ts';
import { checkRedis } from './redis-checks.ts';

/** `redis://user:secret@host:6379/0` → `redis://host:6379/0`. */
function redisLabel(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(unparsable REDIS_URL)';
  }
}

/**
 * Refuses an evicting Redis (connected mode; embedded mode only warns), warns once about a
 * Redis without persistence (connected mode, unless `REDIS_ALLOW_NO_PERSISTENCE`), and warns
 * once when `LEGACY_ALLOW_PLAINTEXT` lets a legacy URL be `http://`.
 * @throws {StartupRefusedError} naming the setting
 */
export async function runStartupChecks(config: Config, redisUrl: string, logger: Logger): Promise<void> {
  const connected = config.mode === 'connected';
  await checkRedis(
    redisUrl,
    {
      label: redisLabel(redisUrl),
      requireNoEviction: connected,
      warnWithoutPersistence: connected && !config.redisAllowNoPersistence,
    },
    logger,
  );
  if (connected && config.legacyAllowPlaintext) {
    const plain = (['tmo', 'crm'] as const).filter((s) => /^http:/i.test(config[s].url ?? ''));
    if (plain.length > 0) {
      logger.warn(
        { systems: plain },
        'LEGACY_ALLOW_PLAINTEXT=true: %s called over plain http://, so credentials (CRM: its password in every envelope) cross the network unencrypted',
        plain.map((s) => s.toUpperCase()).join(' and '),
      );
    }
  }
}
