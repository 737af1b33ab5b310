import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { createServices } from '../domain/services/index.ts';
import { FakeCrm, FakeTmo } from '../domain/services/test-support/fake-ports.ts';
import { createOperations, type Operations } from './operations.ts';
import { FakeCircuits, fastPolicy, testCipher } from './test-support/harness.ts';

let operations: Operations | undefined;
afterEach(async () => {
  await operations?.close().catch(() => undefined);
  operations = undefined;
});

function withLogger(level: 'info' | 'warn') {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level }, sink);
  operations = createOperations({
    redisUrl: inject('redisUrl'),
    services: createServices({ crm: new FakeCrm(), tmo: new FakeTmo() }),
    cipher: testCipher(),
    retryPolicy: fastPolicy(),
    circuits: new FakeCircuits(),
    prefix: `t${randomUUID().slice(0, 8)}`,
    logger,
  });
  return { operations, logger, lines };
}

const ctx = { requestId: 'req-log', principal: 'client-a', preferAsync: true };
const change = { terminalId: 'T0000001', status: 'suspended', reason: 'merchant_request' } as const;

describe('submit logging (issue 8)', () => {
  it('when writes are accepted with the log level above info, then no per-operation child logger is built', async () => {
    const { operations: ops, logger } = withLogger('warn');
    const child = vi.spyOn(logger, 'child');
    for (let i = 0; i < 5; i++) expect((await ops.submit('terminal.status', change, ctx)).outcome).toBe('accepted');
    expect(child).not.toHaveBeenCalled();
  });

  it('when a write is accepted at info, then its line still names the operation, its kind and the request', async () => {
    const { operations: ops, lines } = withLogger('info');
    const r = await ops.submit('terminal.status', change, ctx);
    if (r.outcome !== 'accepted') throw new Error('expected accepted');
    await new Promise((res) => setImmediate(res));
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'operation accepted (respond-async)', operationId: r.operationId, kind: 'terminal.status', requestId: 'req-log' }));
  });
});
