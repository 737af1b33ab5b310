/**
 * One process life for `main.ts` (API) and `worker.ts`: configuration → start-up → signals →
 * shutdown, with the same failure handling in both.
 *
 * - Bad configuration: the list on stderr, exit 2.
 * - Start-up refused (REDIS_URL, an evicting Redis, no redis-server binary): one clear line on
 *   stderr and a fatal log, exit 3; any other start-up failure: fatal log, exit 1.
 * - SIGTERM/SIGINT, also during start-up: stop once, in order (a second signal only logs);
 *   during start-up, the start stops at its next step and closes what it had started (a private
 *   redis-server included), exit 0. If stopping takes longer than `SHUTDOWN_TIMEOUT_MS`, one
 *   log line names the step still running and the process exits 1.
 */
import { ConfigError, describeConfig, loadConfig, type Config, type ProcessKind } from './config.ts';
import type { ShutdownProgress } from './gateway.ts';
import { createLogger, type Logger } from './infra/logger.ts';
import { RedisBinaryMissingError } from './infra/redis-server.ts';
import { StartupRefusedError } from './infra/redis-checks.ts';

/** What a process start returns: something to close, in order, once. */
export interface Closable {
  close(onStep?: ShutdownProgress): Promise<void>;
}

export interface RunProcessOptions<P extends Closable> {
  /** `legacy-gateway` or `legacy-gateway worker`: prefixes stderr lines */
  name: string;
  /** bound into every log line as `role` (omitted when undefined) */
  role?: string;
  /** which variables the process needs (`loadConfig(env, kind)`); default `gateway` */
  kind?: ProcessKind;
  /** a valid configuration this process still cannot run with: the stderr text (exit 2) */
  refuse?(config: Config): string | undefined;
  /** `startGateway` / `startWorker`, stopping between steps once `signal` is aborted */
  start(config: Config, logger: Logger, signal: AbortSignal): Promise<P>;
  /** after a successful start (banner, "worker started") */
  onStarted(started: P, logger: Logger, config: Config): void;
}

/** Runs the process; never resolves before `process.exit` on failure or shutdown. */
export async function runProcess<P extends Closable>(opts: RunProcessOptions<P>): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env, opts.kind ?? 'gateway');
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${opts.name}: invalid configuration\n${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const refusal = opts.refuse?.(config);
  if (refusal !== undefined) {
    process.stderr.write(`${opts.name}: ${refusal}`);
    process.exit(2);
  }
  const base = createLogger({ level: config.logLevel });
  const logger = opts.role === undefined ? base : base.child({ role: opts.role });
  // the full (secret-free) configuration is for debugging; at info a one-line summary
  logger.debug({ config: describeConfig(config) }, 'configuration');
  logger.info({ mode: config.mode, port: config.port, logLevel: config.logLevel, fullConfig: 'at LOG_LEVEL=debug' }, 'starting');

  const starting = new AbortController();
  let gw: P | undefined;
  let stopping = false;
  let running: string | undefined = 'start-up';

  const exitAfterDeadline = () => {
    const timer = setTimeout(() => {
      logger.fatal(
        { step: running ?? 'exit', timeoutMs: config.shutdownTimeoutMs },
        'shutdown did not finish within SHUTDOWN_TIMEOUT_MS (%d ms): still running "%s"; exiting with status 1',
        config.shutdownTimeoutMs,
        running ?? 'exit',
      );
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
  };

  const close = (g: P) => {
    void g
      .close((step, phase) => {
        running = phase === 'start' ? step : undefined;
      })
      .then(
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

  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'already shutting down');
      return;
    }
    stopping = true;
    exitAfterDeadline();
    if (gw === undefined) {
      logger.info({ signal }, 'shutting down during start-up: closing what was started');
      starting.abort(new Error(`${signal} during start-up`));
      return;
    }
    logger.info({ signal }, 'shutting down: no new requests, finishing running jobs');
    close(gw);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  try {
    gw = await opts.start(config, logger, starting.signal);
    running = undefined;
  } catch (err) {
    if (stopping) {
      logger.info('stopped before start-up finished');
      process.exit(0);
    }
    if (err instanceof RedisBinaryMissingError || err instanceof StartupRefusedError) {
      process.stderr.write(`${opts.name}: ${err.message}\n`);
      logger.fatal({ err }, 'start-up refused');
      process.exit(3);
    }
    logger.fatal({ err }, 'start-up failed');
    process.exit(1);
  }
  if (stopping) {
    // the signal came after start-up's last step: shut down what just started
    close(gw);
    return;
  }
  opts.onStarted(gw, logger, config);
}
