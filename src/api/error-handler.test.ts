// Errors of the ops sub-apps go through the same logged handler as the API's, and every error
// log line carries the message and the cause chain, not only the error's name (issue 7).
import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../domain/errors/index.ts';
import { createLogger } from '../infra/logger.ts';
import type { Operations } from '../jobs/operations.ts';
import { requireScope } from './auth/middleware.ts';
import { createOperationsApp, createOpsApp } from './ops/index.ts';
import { createHarness, newMerchantBody, signToken } from './test-support/harness.ts';
import { problemOf } from './test-support/problem.ts';

const CAUSE = "READONLY You can't write against a read only replica.";

function failing(): Error {
  return new Error('dead-letter index unreadable', { cause: new Error(CAUSE) });
}

/** An ops app whose stores throw `failing()` on every read. */
function opsDeps() {
  const thrower = () => Promise.reject(failing());
  const deadLetters = { list: thrower, summary: thrower, get: thrower };
  const operations = { getWithOwner: thrower, deadLetters } as unknown as Operations;
  return { operations, deadLetters: deadLetters as unknown as Operations['deadLetters'], audit: { list: thrower } as unknown as Operations['audit'], circuits: { circuits: () => [], stateOf: () => undefined }, queues: [], requireScope };
}

/** The real logger (its error serializer), writing to `logs`. */
function realLogger() {
  const logs: string[] = [];
  return { logs, logger: createLogger({ level: 'debug', destination: { write: (l: string) => void logs.push(l) } }) };
}

function harness() {
  const deps = opsDeps();
  const { logs, logger } = realLogger();
  return { ...createHarness({
    logger,
    ops: createOpsApp(deps),
    extraRoutes: (root, tools) => {
      root.use('/v1/operations/*', tools.authenticate);
      root.route('/', createOperationsApp({ operations: deps.operations }));
    },
  }), logs };
}

function errorLines(logs: string[]): Array<{ level: number; msg: string; requestId?: string; err?: { name: string; message: string; cause?: { message: string } } }> {
  return logs.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level >= 40 && 'err' in l);
}

describe('the error handler of the ops sub-apps', () => {
  it.each([
    ['the dead-letter list', '/ops/dead-letters', ['ops:read']],
    ['the dead-letter summary', '/ops/dead-letters/summary', ['ops:read']],
    ['an operation', '/v1/operations/op_3f1c0d7e9b2a4c6d8e0f1a2b3c4d5e6f', ['ops:read']],
  ])('when reading %s fails unexpectedly, then 500 problem and one error log line with message and cause', async (_label, path, scopes) => {
    const h = harness();
    const res = await h.app.request(path, { headers: { Authorization: `Bearer ${await signToken(scopes)}`, 'X-Request-Id': 'req-ops-500' } });
    expect(res.status).toBe(500);
    const body = await problemOf(res);
    expect(body).toMatchObject({ code: 'internal.error', requestId: 'req-ops-500' });
    expect(JSON.stringify(body)).not.toContain('READONLY');
    const lines = errorLines(h.logs);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 50,
      requestId: 'req-ops-500',
      err: { name: 'Error', message: 'dead-letter index unreadable', cause: { message: CAUSE } },
    });
  });
});

describe('the error handler of the API', () => {
  it('when a legacy system is down, then the warn line carries the domain error with its message and cause', async () => {
    const { logs, logger } = realLogger();
    const h = { ...createHarness({ logger }), logs };
    h.fake.failNext('merchants.onboard', new UnavailableError('tmo.unavailable', 'TMO is unavailable', { system: 'tmo', cause: new Error('connect ECONNREFUSED 10.0.0.7:443') }));
    const res = await h.json('POST', '/v1/merchants', newMerchantBody(), { 'Idempotency-Key': 'k-1' });
    expect(res.status).toBe(503);
    const lines = errorLines(h.logs);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 40,
      err: { name: 'UnavailableError', message: 'TMO is unavailable', cause: { message: 'connect ECONNREFUSED 10.0.0.7:443' } },
    });
  });
});
