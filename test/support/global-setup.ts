import type { TestProject } from 'vitest/node';
import { startPrivateRedis, type PrivateRedis } from '../../src/infra/redis-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

let redis: PrivateRedis | undefined;

/**
 * Tests never touch the shared Redis on :6379: honour REDIS_URL if given, otherwise start a
 * private redis-server on a free port for the whole run. Tests read it with `inject('redisUrl')`.
 */
export async function setup(project: TestProject): Promise<void> {
  let url = process.env.REDIS_URL;
  if (!url) {
    redis = await startPrivateRedis();
    url = redis.url;
  }
  project.provide('redisUrl', url);
}

export async function teardown(): Promise<void> {
  await redis?.stop();
}
