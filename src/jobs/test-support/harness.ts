import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { CircuitSnapshot, CircuitState, CircuitStateView, CircuitStatusPort } from '../../domain/circuit.port.ts';
import type { LastKnownPort } from '../../domain/read-model.port.ts';
import { createKeys } from '../keys.ts';
import { createServices } from '../../domain/services/index.ts';
import type { Services } from '../../domain/services/types.ts';
import { FakeCrm, FakeTmo } from '../../domain/services/test-support/fake-ports.ts';
import { createFieldCipher, toStringCipher } from '../crypto/index.ts';
import { createOperations, type Operations } from '../operations.ts';
import type { PayloadCipher } from '../payload.ts';
import type { RetryPolicy, SystemRetryPolicy } from '../retry-policy.ts';
import { createWorkers, type Workers } from '../worker.ts';
import type { LegacySystem, OperationStatus } from '../types.ts';

/** A breaker status port the test flips by hand. */
export class FakeCircuits implements CircuitStatusPort {
  private readonly states = new Map<string, { state: CircuitState; at: string | null }>([
    ['tmo', { state: 'closed', at: null }],
    ['crm', { state: 'closed', at: null }],
  ]);

  set(system: LegacySystem, state: CircuitState): void {
    this.states.set(system, { state, at: new Date().toISOString() });
  }

  circuits(): CircuitSnapshot[] {
    return [...this.states].map(([system, s]) => ({
      system,
      state: s.state,
      lastTransitionAt: s.at,
      stats: { successes: 0, failures: 0, timeouts: 0, rejects: 0, fires: 0 },
      bulkhead: { limit: 10, active: 0, queued: 0 },
    }));
  }

  stateOf(system: string): CircuitStateView | undefined {
    const name = system.toLowerCase();
    const s = this.states.get(name);
    return s && { system: name, state: s.state, lastTransitionAt: s.at };
  }
}

export function testCipher(): PayloadCipher {
  return toStringCipher(createFieldCipher({ keys: [{ id: 'test', key: randomBytes(32) }] }), 'jobs');
}

/** Small numbers so retries happen in milliseconds. */
export function fastPolicy(overrides: Partial<SystemRetryPolicy> = {}): RetryPolicy {
  const row: SystemRetryPolicy = {
    attempts: 4,
    backoff: { strategy: 'exponential', baseMs: 20, capMs: 100 },
    maxAgeMs: 60_000,
    breakerWaitMs: 300,
    ...overrides,
  };
  return { tmo: { ...row }, crm: { ...row } };
}

export interface Harness {
  redis: Redis;
  prefix: string;
  crm: FakeCrm;
  tmo: FakeTmo;
  services: Services;
  circuits: FakeCircuits;
  operations: Operations;
  workers: Workers | undefined;
  startWorkers(): Promise<Workers>;
  waitForStatus(operationId: string, status: OperationStatus, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Operations over the real services with in-memory legacy ports, on the private test Redis. */
export async function createHarness(
  redisUrl: string,
  opts: { policy?: RetryPolicy; workers?: boolean; inlineGraceMs?: number; lastKnown?: (keysPrefix: string) => LastKnownPort } = {},
): Promise<Harness> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const lastKnown = opts.lastKnown?.(createKeys(prefix).prefix);
  const crm = new FakeCrm();
  const tmo = new FakeTmo();
  const services = createServices({ crm, tmo });
  const circuits = new FakeCircuits();
  const operations = createOperations({
    connection: redis,
    services,
    cipher: testCipher(),
    retryPolicy: opts.policy ?? fastPolicy(),
    circuits,
    prefix,
    inlineGraceMs: opts.inlineGraceMs ?? 60_000,
    leaseTtlMs: 5_000,
    ...(lastKnown ? { lastKnown } : {}),
  });
  const h: Harness = {
    redis,
    // the hash-tagged form every key starts with (`{t…}`)
    prefix: operations.runtime.keys.prefix,
    crm,
    tmo,
    services,
    circuits,
    operations,
    workers: undefined,
    async startWorkers() {
      h.workers ??= createWorkers({ operations, concurrency: 2, stalledIntervalMs: 5_000, lockDurationMs: 5_000, leaseBusyDelayMs: 50 });
      await h.workers.waitUntilReady();
      return h.workers;
    },
    async waitForStatus(operationId, status, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const op = await operations.get(operationId);
        if (op?.status === status) return;
        if (Date.now() > until) throw new Error(`operation ${operationId} is ${op?.status ?? 'missing'}, expected ${status}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async close() {
      await h.workers?.close().catch(() => undefined);
      await operations.close().catch(() => undefined);
      await redis.quit().catch(() => undefined);
    },
  };
  if (opts.workers !== false) await h.startWorkers();
  return h;
}

/** Every key under the prefix with its full content, as text (to look for secrets). */
export async function dumpRedis(redis: Redis, prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', '500');
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      let value: unknown;
      if (type === 'string') value = await redis.get(key);
      else if (type === 'hash') value = await redis.hgetall(key);
      else if (type === 'list') value = await redis.lrange(key, 0, -1);
      else if (type === 'set') value = await redis.smembers(key);
      else if (type === 'zset') value = await redis.zrange(key, '0', '-1', 'WITHSCORES');
      else if (type === 'stream') value = await redis.xrange(key, '-', '+');
      else value = `<${type}>`;
      out.set(key, JSON.stringify(value));
    }
  } while (cursor !== '0');
  return out;
}
