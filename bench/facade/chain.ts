/**
 * The HTTP edge's own CPU per request, A/B in one process (issue 8): `GET /v1/terminals/{id}`
 * through two checkouts' `createApp` — the real middleware chain (request id, metrics, access
 * log at `info` into a file through the scrubbing destination, security headers, RS256 JWT
 * check with its cache, scope, zod path validation, stale-if-error, `jsonResponse`) and the real
 * breaker + bulkhead (`createResilience().runWith`) around an in-memory terminal — driven
 * through @hono/node-server's request listener with stand-in `IncomingMessage`/`ServerResponse`
 * objects, so neither sockets nor a legacy system nor autocannon share the measured CPU.
 * The ops routes are mounted as in main.ts (they decide which router hono uses), never called.
 * (No rate limit: its own bench is its folder's business.) Batches alternate A, B, A, B, …;
 * prints both medians and the median of the per-pair ratios B/A.
 *
 *   npx tsx bench/facade/chain.ts --a /tmp/base --b . [--pairs 20] [--requests 20000] [--concurrency 20]
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { pino } from 'pino';
import { rs256BenchToken } from '../support/rs256-token.ts';
import { parseAbArgs, runAbPairs } from '../support/ab-pairs.ts';

const args = parseAbArgs(60000);
const { pairs, perBatch, concurrency } = args;

const workDir = mkdtempSync(join(tmpdir(), 'lgw-chain-'));
process.on('exit', () => rmSync(workDir, { recursive: true, force: true }));
const { jwksFile, issuer, audience, token } = await rs256BenchToken(workDir, 'chain');

const TERMINAL = {
  id: 'T0000001',
  merchantId: 'M000000001',
  tmoMerchantId: '000000000000001',
  model: 'A920',
  serialNumber: 'SN123456',
  status: 'active',
  contactless: true,
  currency: 'EUR',
  lastSeenAt: '2025-01-15T10:00:00.000Z',
};

type Listener = ReturnType<typeof getRequestListener>;
/** a dependency the measured route never calls */
const unused: never = new Proxy({}, { get: () => unused }) as never;

/** One checkout's app, served by node-server's listener. */
async function build(root: string, label: string): Promise<Listener> {
  const src = (p: string) => import(join(resolve(root), 'src', p));
  const { createApp } = (await src('api/app.ts')) as typeof import('../../src/api/app.ts');
  const { createLogger } = (await src('infra/logger.ts')) as typeof import('../../src/infra/logger.ts');
  const { createMetrics } = (await src('infra/metrics.ts')) as typeof import('../../src/infra/metrics.ts');
  const { createJwtAuthenticator } = (await src('api/auth/authenticator.ts')) as typeof import('../../src/api/auth/authenticator.ts');
  const { createResilience } = (await src('adapters/soap/resilience.ts')) as typeof import('../../src/adapters/soap/resilience.ts');
  const { createOpsApp } = (await src('api/ops/index.ts')) as typeof import('../../src/api/ops/index.ts');
  const { requireScope } = (await src('api/auth/middleware.ts')) as typeof import('../../src/api/auth/middleware.ts');
  const logger = createLogger({ level: 'info', destination: pino.destination({ dest: join(workDir, `${label}.log`), sync: false }) });
  const resilience = createResilience({
    system: 'tmo',
    breaker: { errorThresholdPercentage: 50, volumeThreshold: 20, resetTimeoutMs: 30_000, rollingWindowMs: 10_000 },
    bulkhead: { limit: 32, maxQueue: 200, queueTimeoutMs: 5_000 },
  });
  const fetchTerminal = (id: string) => Promise.resolve({ ...TERMINAL, id });
  const terminals = { get: (id: string, ctx: { signal?: AbortSignal }) => resilience.runWith(fetchTerminal, id, ctx.signal) };
  const app = createApp({
    services: { terminals } as unknown as Parameters<typeof createApp>[0]['services'],
    writes: {} as Parameters<typeof createApp>[0]['writes'],
    auth: createJwtAuthenticator({ jwks: { file: jwksFile }, issuer, audience }),
    logger,
    health: { ready: async () => ({ ok: true, checks: {} }) },
    middleware: createMetrics({ defaultMetrics: false }).http,
    // the ops routes as main.ts mounts them (never called here): they shape the route table
    ops: createOpsApp({ operations: unused, deadLetters: unused, audit: unused, circuits: unused, queues: [], requireScope }),
  });
  return getRequestListener(app.fetch);
}

/** Stand-ins for node:http's request and response: enough for node-server's listener. */
class FakeOutgoing extends EventEmitter {
  statusCode = 0;
  headersSent = false;
  writableEnded = false;
  writableFinished = false;
  destroyed = false;
  constructor(private readonly done: (status: number) => void) {
    super();
  }
  writeHead(status: number): this {
    this.statusCode = status;
    this.headersSent = true;
    return this;
  }
  setHeader(): void {}
  end(): this {
    this.writableEnded = true;
    this.writableFinished = true;
    this.emit('finish');
    this.emit('close');
    this.done(this.statusCode);
    return this;
  }
}

function incoming(): object {
  const headers = { host: '127.0.0.1', authorization: `Bearer ${token}`, 'user-agent': 'chain-bench', accept: '*/*' };
  const e = new EventEmitter() as EventEmitter & Record<string, unknown>;
  Object.assign(e, {
    method: 'GET',
    url: '/v1/terminals/T0000001',
    headers,
    rawHeaders: Object.entries(headers).flat(),
    httpVersion: '1.1',
    socket: { encrypted: false, remoteAddress: '127.0.0.1' },
    readableEnded: true,
    complete: true,
  });
  return e;
}

function one(listener: Listener): Promise<number> {
  return new Promise((done) => {
    const out = new FakeOutgoing(done);
    void listener(incoming() as Parameters<Listener>[0], out as unknown as Parameters<Listener>[1]);
  });
}

async function batch(listener: Listener, n: number): Promise<number> {
  let left = n;
  const worker = async () => {
    while (left-- > 0) {
      const status = await one(listener);
      if (status !== 200) throw new Error(`answered ${status}`);
    }
  };
  const c0 = process.cpuUsage();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

const apps = { A: await build(args.a, 'A'), B: await build(args.b, 'B') };
await runAbPairs({ sides: apps, batch, pairs, perBatch, warmup: args.warmup, what: 'edge CPU µs/request', unit: `requests, ${concurrency} in flight` });
process.exit(0);
