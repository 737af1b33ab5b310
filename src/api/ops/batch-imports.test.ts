import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpenAPIHono } from '@hono/zod-openapi';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createLocalFolderFiles } from '../../adapters/files/local-folder.ts';
import { createTermstatImporter, type TermstatImporter } from '../../jobs/batch/termstat-import.ts';
import { termstatFile } from '../../jobs/batch/test-support/termstat-file.ts';
import { termstatFormat } from '../../translators/batch/termstat.ts';
import { requireScope } from '../auth/middleware.ts';
import type { ApiEnv } from '../env.ts';
import { problemResponse, problemFromError } from '../problem.ts';
import { validationHook } from '../validation.ts';
import { mountBatchImportRoutes } from './batch-imports.ts';

let dir: string;
let redis: Redis;
let importer: TermstatImporter;

function app() {
  const root = new OpenAPIHono<ApiEnv>();
  root.use('*', async (c, next) => {
    c.set('requestId', 'req-test');
    c.set('logger', pino({ level: 'silent' }));
    const scopes = c.req.header('x-test-scopes') ?? '';
    c.set('principal', { subject: 'operator-1', scopes: new Set(scopes.split(' ').filter(Boolean)) });
    await next();
  });
  const ops = new OpenAPIHono<ApiEnv>({ defaultHook: validationHook });
  ops.onError((err, c) => problemResponse(c, problemFromError(err).init));
  mountBatchImportRoutes(ops, { importer, read: requireScope('ops:read'), write: requireScope('ops:write'), mountPath: '/ops' });
  root.route('/ops', ops);
  return root;
}

const call = (a: ReturnType<typeof app>, method: string, path: string, scopes = 'ops:read ops:write') =>
  a.request(path, { method, headers: { 'x-test-scopes': scopes } });

const valid = () =>
  termstatFile('20261127', [
    { tid: 'T0000001', mid: '000000000012345', status: 'AC', lastSeen: '20261127101530', transactions: 1, amount: 100 },
  ]);

async function until(a: ReturnType<typeof app>, state: string) {
  for (let i = 0; i < 100; i++) {
    const body = (await (await call(a, 'GET', '/ops/batch/imports')).json()) as { items: { state: string }[] };
    if (body.items[0]?.state === state) return body.items;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no run reached ${state}`);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ops-termstat-'));
  for (const d of ['outbox/archive', 'outbox/error']) mkdirSync(join(dir, d), { recursive: true });
  redis = new Redis(inject('redisUrl'));
  const prefix = `ops-${randomBytes(4).toString('hex')}`;
  importer = createTermstatImporter({
    redis,
    prefix,
    files: createLocalFolderFiles(dir),
    format: termstatFormat({ timeZone: 'Europe/Rome' }),
    eventsStream: `${prefix}:events`,
    eventsMaxLen: 1_000,
    settleMs: 10,
    logger: pino({ level: 'silent' }),
  });
});

afterEach(async () => {
  await importer.close();
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

describe('ops: TERMSTAT imports', () => {
  it('when an operator asks to look now, then 202 and the run shows up as imported with its counts', async () => {
    writeFileSync(join(dir, 'outbox', 'TERMSTAT_20261127.DAT'), valid());
    writeFileSync(join(dir, 'outbox', 'TERMSTAT_20261127.OK'), '');
    const a = app();
    const res = await call(a, 'POST', '/ops/batch/imports');
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe('/ops/batch/imports');
    const items = await until(a, 'imported');
    expect(items[0]).toMatchObject({ snapshotDate: '2026-11-27', file: 'TERMSTAT_20261127.DAT', records: 1, statusChanges: 0, reason: null, line: null });
  });

  it('when a corrupt file was imported, then the run shows corrupt with its reason and line', async () => {
    writeFileSync(join(dir, 'outbox', 'TERMSTAT_20261127.DAT'), termstatFile('20261127', [
      { tid: 'T0000001', mid: '000000000012345', status: 'AC', lastSeen: '20261127101530', transactions: 1, amount: 100 },
    ], { count: 2 }));
    writeFileSync(join(dir, 'outbox', 'TERMSTAT_20261127.OK'), '');
    const a = app();
    await call(a, 'POST', '/ops/batch/imports');
    const items = await until(a, 'corrupt');
    expect(items[0]).toMatchObject({ state: 'corrupt', line: 3, reason: 'trailer detail count 2 does not match the 1 detail records' });
    expect((items[0] as unknown as { deadLetterId: string }).deadLetterId).toMatch(/^batch_[0-9a-f]{32}$/);
  });

  it('when a date is retried with no complete snapshot in the outbox, then 404 batch.snapshot_not_found; with one, 202', async () => {
    const a = app();
    writeFileSync(join(dir, 'outbox', 'TERMSTAT_20261127.DAT'), valid());
    const missing = await call(a, 'POST', '/ops/batch/imports/2026-11-27/retry');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: string }).code).toBe('batch.snapshot_not_found');
    writeFileSync(join(dir, 'outbox', 'TERMSTAT_20261127.OK'), '');
    expect((await call(a, 'POST', '/ops/batch/imports/2026-11-27/retry')).status).toBe(202);
    await until(a, 'imported');
    // a malformed date in the path is a resource that does not exist (house rule for path ids)
    expect((await call(a, 'POST', '/ops/batch/imports/20261127/retry')).status).toBe(404);
  });

  it('when the caller lacks the scope, then 403: reading needs ops:read, acting needs ops:write', async () => {
    const a = app();
    expect((await call(a, 'GET', '/ops/batch/imports', 'ops:write')).status).toBe(403);
    expect((await call(a, 'POST', '/ops/batch/imports', 'ops:read')).status).toBe(403);
    expect((await call(a, 'POST', '/ops/batch/imports/2026-11-27/retry', 'ops:read')).status).toBe(403);
  });
});
