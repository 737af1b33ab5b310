/**
 * Acceptance (durable writes): "kill -9 of a worker mid-onboarding → exactly one customer and
 * one MID in the simulators".
 *
 * The simulators and the API (startGateway, `workers: false`) live in this process, so their
 * state survives; the worker is the real `src/worker.ts` in a CHILD process (same Redis, same
 * payload key, same legacy endpoints), SIGKILLed mid-flight and replaced by a fresh one. The
 * replacement only gets the jobs back through BullMQ's stalled-job recovery and the lapse of
 * the dead run's operation lease. Production defaults are a 30 s lock checked every 15 s and a
 * 30 s lease; the test sets WORKER_LOCK_MS, WORKER_STALLED_INTERVAL_MS and OPERATION_LEASE_MS
 * to a few seconds so recovery takes seconds, through the same code path.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { createCapturedLogger, TEST_LOG_DIR } from '../support/log-capture.ts';
import {
  appCall,
  configOnFreePort,
  connectedSetup,
  flushDb,
  merchantBody,
  randomVat,
  redisOnDb,
  startLegacy,
  waitFor,
  type ConnectedSetup,
  type Legacy,
  REDIS_DBS,
} from './support.ts';

const REDIS_DB = REDIS_DBS.crashRecovery;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let legacy: Legacy | undefined;
let setup: ConnectedSetup | undefined;
let gw: Gateway | undefined;
let token = '';
const children = new Set<WorkerChild>();

interface WorkerChild {
  proc: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** the last lines of stderr (diagnostics on failure) */
  stderr(): string;
}

/**
 * `node --import tsx src/worker.ts` (one process: `tsx` as a CLI would put a wrapper in between,
 * and a SIGKILL of the wrapper would leave the real worker running). Its stdout and stderr go to
 * the run's log capture, so the leak check greps the child's log lines too.
 */
async function startWorker(env: Record<string, string>, label: string): Promise<WorkerChild> {
  mkdirSync(TEST_LOG_DIR, { recursive: true });
  const log: WriteStream = createWriteStream(join(TEST_LOG_DIR, `worker-child-${process.pid}-${label}.ndjson`), { flags: 'a' });
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  proc.stderr?.on('data', (b: Buffer) => {
    log.write(b);
    err = (err + b.toString('utf8')).slice(-4000);
  });
  proc.stdout?.on('data', (b: Buffer) => {
    log.write(b);
    out = (out + b.toString('utf8')).slice(-20_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => {
      log.end();
      resolve({ code, signal });
    });
  });
  const child: WorkerChild = { proc, exited, stderr: () => err };
  children.add(child);
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  await waitFor(
    'the worker child to start',
    () => {
      if (out.includes('worker started')) return true;
      if (gone) throw new Error(`the worker child exited at start: ${err}`);
      return undefined;
    },
    { timeoutMs: 60_000, describeLast: () => err || '(no stderr)' },
  );
  return child;
}

async function kill(child: WorkerChild): Promise<void> {
  if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
  await child.exited;
  children.delete(child);
}

beforeAll(async () => {
  const redisUrl = redisOnDb(inject('redisUrl'), REDIS_DB);
  await flushDb(redisUrl);
  legacy = await startLegacy();
  // Long legacy timeouts: the dead worker's calls must still be in flight when it is killed,
  // not timed out and rescheduled by the worker itself.
  setup = await connectedSetup(legacy, redisUrl, {
    TMO_TIMEOUT_MS: '90000',
    CRM_TIMEOUT_MS: '90000',
    LOG_LEVEL: 'debug',
    WORKER_LOCK_MS: '3000',
    WORKER_STALLED_INTERVAL_MS: '1000',
    OPERATION_LEASE_MS: '3000',
  });
  gw = await startGateway(configOnFreePort(setup.env), createCapturedLogger({ name: 'acceptance-crash-api' }), { listen: false, workers: false });
  token = await setup.keys.signToken(['merchants:read', 'merchants:write'], { subject: 'client-crash' });
});

afterAll(async () => {
  // Every step runs: no child may outlive the test, even when it failed half-way.
  for (const c of [...children]) await kill(c).catch(() => undefined);
  await gw?.close().catch(() => undefined);
  await legacy?.close();
  setup?.cleanup();
});

function api(method: string, path: string, init: { body?: unknown; headers?: Record<string, string> } = {}) {
  return appCall(gw, token, method, path, init);
}

interface OperationView {
  status: string;
  resource: { id: string } | null;
  steps: { name: string; outcome: string }[];
}

async function operation(id: string): Promise<OperationView> {
  const r = await api('GET', `/v1/operations/${id}`);
  expect(r.status).toBe(200);
  return r.json as unknown as OperationView;
}

async function submitAsync(vat: string): Promise<string> {
  const r = await api('POST', '/v1/merchants', {
    body: merchantBody(vat),
    headers: { 'Idempotency-Key': `crash-${vat}`, Prefer: 'respond-async' },
  });
  expect(r.status).toBe(202);
  const location = r.headers.get('location') ?? '';
  expect(location).toMatch(/^\/v1\/operations\/op_[0-9a-f]{32}$/);
  return location.slice('/v1/operations/'.length);
}

describe('acceptance: a worker killed mid-onboarding', () => {
  it(
    'when the worker is SIGKILLed after CRM (and, for one of two merchants, TMO) applied, then a new worker finishes both with exactly one customer, one MID and one link each',
    async () => {
      if (!gw || !legacy || !setup) throw new Error('set-up failed');
      const { tmo, crm } = legacy;
      const env = setup.env;
      const first = await startWorker(env, 'first');

      // A: TMO applies RegisterMerchant and then never answers (the MID exists, the gateway
      // has not heard of it). Kill point: TMO has the merchant.
      tmo.faults.set({ hangAfterApplyMs: 120_000 });
      const vatA = randomVat();
      const opA = await submitAsync(vatA);
      await waitFor('TMO to apply RegisterMerchant for A', () => (tmo.state.registerCalls(vatA) === 1 ? true : undefined), { timeoutMs: 10_000 });

      // B: TMO sits on RegisterMerchant before applying it. Kill point: only CRM has B.
      tmo.faults.set({ latencyMs: 120_000 });
      const vatB = randomVat();
      const opB = await submitAsync(vatB);
      await waitFor(
        'B to be past CRM CreateCustomer and waiting on TMO',
        async () => {
          if (crm.state.createCalls(vatB) !== 1) return undefined;
          const op = await operation(opB);
          const step = (n: string) => op.steps.find((s) => s.name === n)?.outcome;
          return step('crm.createCustomer') === 'succeeded' && step('tmo.registerMerchant') === 'running' ? true : undefined;
        },
        { timeoutMs: 10_000 },
      );
      expect(tmo.state.registerCalls(vatB)).toBe(0);

      await kill(first);
      const killedAt = Date.now();
      expect((await operation(opA)).status).toBe('running');
      expect((await operation(opB)).status).toBe('running');

      tmo.faults.reset(); // TMO is healthy again for the replacement
      await startWorker(env, 'second');
      const done = async (id: string) => {
        const op = await operation(id);
        if (op.status === 'failed') throw new Error(`operation ${id} failed: ${JSON.stringify(op)}`);
        return op.status === 'succeeded' ? op : undefined;
      };
      const [a, b] = await Promise.all(
        [opA, opB].map((id) => waitFor(`operation ${id} to succeed after the crash`, () => done(id), { timeoutMs: 50_000, intervalMs: 250 })),
      );
      const recoveredAfterMs = Date.now() - killedAt;

      for (const [vat, op] of [
        [vatA, a],
        [vatB, b],
      ] as const) {
        // exactly one CRM customer and one TMO merchant for the VAT number…
        const customers = crm.state.customers().filter((c) => c.VatNo === vat);
        const merchants = tmo.state.merchants().filter((m) => m.VAT_NO === vat);
        expect(customers).toHaveLength(1);
        expect(merchants).toHaveLength(1);
        const customer = customers[0];
        const merchant = merchants[0];
        // …linked to each other exactly once, and the operation points at that customer
        expect(customer?.ExternalRefs.filter((r) => r.System === 'TMO')).toEqual([{ System: 'TMO', Value: merchant?.MID }]);
        expect(merchant?.CRM_REF).toBe(customer?.CustId);
        expect(crm.state.addRefCalls(customer?.CustId ?? '')).toBe(1);
        expect(op?.resource?.id).toBe(customer?.CustId);
        expect(crm.state.createCalls(vat)).toBe(1);
      }
      // A's first RegisterMerchant was applied but never answered: the new worker's call is
      // answered E301 with the existing MID. B's first call was never processed.
      expect(tmo.state.registerCalls(vatA)).toBe(2);
      expect(tmo.state.registerCalls(vatB)).toBe(1);
      console.info(`crash-recovery: both operations succeeded ${recoveredAfterMs} ms after the SIGKILL`);
    },
    // two worker children start under tsx (seconds each on a busy 2-core machine)
    180_000,
  );
});
