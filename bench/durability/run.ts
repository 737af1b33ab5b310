/**
 * Durability bench (`npm run bench:durability [-- --n 2000]`).
 *
 * Drives N logical writes (half onboardings, half terminal orders) through the gateway while the
 * legacy simulators inject 20 % system faults and latency, go down twice (TMO, then CRM), apply
 * writes but answer too late for a few seconds (ambiguous outcomes), and the worker process is
 * SIGKILLed once and restarted. Then it reads the simulators' own records and prints: accepted,
 * applied exactly once, applied twice, lost, dead-lettered (by reason), and the drain time after
 * the last outage. Exits 1 unless applied twice = 0 and lost = 0, 2 if it could not drain in time.
 *
 * Layout (all loopback): the simulators run in this process (so their records can be read at the
 * end), a private redis-server, the gateway as a child process with `WORKERS_IN_PROCESS=false`
 * (HTTP only) and the worker as another child (`src/worker.ts`), the one that is killed.
 *
 * How a write is told apart in the records: an onboarding has its own VAT number (CRM and TMO
 * both key on it); an order is for a pre-onboarded merchant, each merchant gets up to four orders
 * with distinct (model, contactless) pairs — the only thing the gateway's reconciliation can go
 * by — and each order carries its own shipping line (`Ordine <n>`), which TMO keeps on the terminal.
 *
 * The client behaves like a careful real one: one Idempotency-Key per logical write, resent with
 * the same key on 5xx, 409 `idempotency.in_progress` and network errors, with backoff, bounded.
 */
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { join } from 'node:path';
import { startCrmSimulator, startTmoSimulator, type CrmSimulator, type TmoSimulator } from '../../src/simulators/index.ts';
import { freePort } from '../../src/infra/redis-server.ts';
import { BENCH_SCOPES, rng, sleep, spawnTs, startStack, table, waitFor, type Child } from './stack.ts';

const { values: argv } = parseArgs({
  options: {
    n: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '32' },
    seed: { type: 'string', default: '7' },
    'fault-rate': { type: 'string', default: '0.2' },
    'outage-ms': { type: 'string', default: '8000' },
    'no-ambiguous': { type: 'boolean', default: false },
    'no-kill': { type: 'boolean', default: false },
    // every order of a merchant for the same model and contactless flag: what ListTerminals
    // reconciliation cannot tell apart (shows its limits; not part of the default run)
    'same-combo': { type: 'boolean', default: false },
    'timeout-s': { type: 'string', default: '420' },
    'worker-concurrency': { type: 'string', default: '8' },
    // below the slowest inline write on purpose: the client gives up on slow answers and resends
    // with the same key, which is what exercises the idempotency store
    'client-timeout-ms': { type: 'string', default: '2500' },
    // legacy: the legacy systems misbehave and a worker is killed; infra: Redis is killed and
    // restarted (AOF), a gateway is killed, Redis stalls; scale: two gateways and two workers
    scenario: { type: 'string', default: 'legacy' },
  },
});
type Scenario = 'legacy' | 'infra' | 'scale';
const SCENARIOS: readonly Scenario[] =
  argv.scenario === 'all' ? ['legacy', 'infra', 'scale'] : (['legacy', 'infra', 'scale'] as const).filter((s) => s === argv.scenario);
if (SCENARIOS.length === 0) throw new Error('--scenario must be legacy, infra, scale or all');
const N = Number(argv.n);
const CONCURRENCY = Number(argv.concurrency);
const SEED = Number(argv.seed);
const FAULT_RATE = Number(argv['fault-rate']);
const OUTAGE_MS = Number(argv['outage-ms']);
const AMBIGUOUS = !argv['no-ambiguous'];
const KILL = !argv['no-kill'];
const HARD_CAP_MS = Number(argv['timeout-s']) * 1000;
const ORDERS_PER_MERCHANT = 4;
const SAME_COMBO = argv['same-combo'];
const LEGACY_TIMEOUT_MS = 3000;
const CLIENT_TIMEOUT_MS = Number(argv['client-timeout-ms']);
if (!Number.isInteger(N) || N < 10) throw new Error('--n must be an integer >= 10');

const t0 = Date.now();
const since = (t = Date.now()) => `${((t - t0) / 1000).toFixed(1)}s`;
const say = (msg: string) => process.stdout.write(`[${since()}] ${msg}\n`);

// ---------------------------------------------------------------- the writes

const COMBOS = [
  { model: 'A920', contactless: true },
  { model: 'P400', contactless: false },
  { model: 'S1F2', contactless: true },
  { model: 'A920', contactless: false },
  { model: 'P400', contactless: true },
  { model: 'S1F2', contactless: false },
] as const;
const ADDRESS = { line1: 'Via Roma 1', city: 'Milano', postalCode: '20100', province: 'MI', country: 'IT' };
const IBAN = 'IT60X0542811101000000123456';

type Write =
  | { kind: 'onboard'; n: number; vat: string }
  | { kind: 'order'; n: number; merchantIndex: number; combo: (typeof COMBOS)[number] };

interface Outcome {
  /** final HTTP status the client saw (0 = gave up without an answer) */
  status: number;
  /** problem code of a final 4xx/5xx */
  code: string | null;
  /** 202: the operation to poll */
  operationId: string | null;
  /** id of the resource the gateway reported (inline 201/200, or the operation's resource) */
  resourceId: string | null;
  /** requests sent for this write (1 = no resend) */
  sends: number;
  /** terminal operation status, once drained */
  opStatus: 'queued' | 'running' | 'succeeded' | 'failed' | 'missing' | null;
  finishedAt: number;
}

const vatOf = (prefix: number, i: number) => `${prefix}${String(i).padStart(10, '0')}`;

function onboardBody(vat: string, name: string) {
  return {
    legalName: name,
    vatNumber: vat,
    taxCode: vat,
    segment: 'retail',
    mcc: '5812',
    email: 'bench@example.com',
    phone: '+390212345678',
    address: ADDRESS,
    iban: IBAN,
  };
}

function orderBody(w: Extract<Write, { kind: 'order' }>) {
  return {
    model: w.combo.model,
    contactless: w.combo.contactless,
    currency: 'EUR',
    shippingAddress: { line1: `Ordine ${w.n}`, city: 'Torino', postalCode: '10121', province: 'TO' },
  };
}

// ---------------------------------------------------------------- HTTP client

interface Http {
  /** the gateways; writes spread over them (a resend may go to another one) */
  bases: string[];
  token: string;
  /** every 5xx answer and when (503s during the Redis outage and stall are reported) */
  fiveHundreds: { at: number; status: number }[];
}

async function send(http: Http, method: string, path: string, body: unknown, key?: string, timeoutMs = 30_000, gateway = 0): Promise<{ status: number; json: unknown; headers: Headers }> {
  const res = await fetch(`${http.bases[gateway % http.bases.length] ?? ''}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${http.token}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...(key ? { 'Idempotency-Key': key } : {}),
    },
    body: body === undefined ? null : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (res.status >= 500) http.fiveHundreds.push({ at: Date.now(), status: res.status });
  let json: unknown = null;
  try {
    json = text ? (JSON.parse(text) as unknown) : null;
  } catch {
    json = null;
  }
  return { status: res.status, json, headers: res.headers };
}

const field = (v: unknown, k: string): unknown => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Which gateway a send goes to: spread by key, and a resend goes to the next one. */
function gatewayOf(key: string, sends: number): number {
  let h = 0;
  for (const ch of key) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h + sends;
}

/**
 * One logical write as a real client does it: same Idempotency-Key on every resend; resend on
 * 5xx, 409 in-progress and network errors (honouring Retry-After, capped), give up after
 * `maxSends` or `budgetMs`.
 */
async function write(http: Http, path: string, body: unknown, key: string, random: () => number): Promise<Outcome> {
  const maxSends = 40;
  const budgetMs = 180_000;
  const start = Date.now();
  let last: { status: number; code: string | null } = { status: 0, code: null };
  for (let sends = 1; ; sends++) {
    let wait = Math.min(3000, 100 * 2 ** Math.min(sends, 6)) * (0.5 + random());
    try {
      const r = await send(http, 'POST', path, body, key, CLIENT_TIMEOUT_MS, gatewayOf(key, sends));
      const code = str(field(r.json, 'code'));
      if (r.status === 200 || r.status === 201) {
        return { status: r.status, code: null, operationId: null, resourceId: str(field(r.json, 'id')), sends, opStatus: 'succeeded', finishedAt: Date.now() };
      }
      if (r.status === 202) {
        return { status: 202, code: null, operationId: str(field(r.json, 'operationId')), resourceId: null, sends, opStatus: null, finishedAt: 0 };
      }
      last = { status: r.status, code };
      const retryable = r.status >= 500 || (r.status === 409 && code === 'idempotency.in_progress');
      if (!retryable) return { status: r.status, code, operationId: null, resourceId: null, sends, opStatus: null, finishedAt: 0 };
      const ra = Number(r.headers.get('retry-after'));
      if (Number.isFinite(ra) && ra > 0) wait = Math.min(5000, ra * 1000) * (0.75 + random() / 2);
    } catch {
      last = { status: 0, code: 'network' };
    }
    if (sends >= maxSends || Date.now() - start > budgetMs) {
      return { status: 0, code: `gave_up_after_${last.status}_${last.code ?? ''}`, operationId: null, resourceId: null, sends, opStatus: null, finishedAt: 0 };
    }
    await sleep(wait);
  }
}

// ---------------------------------------------------------------- main

async function runScenario(scenario: Scenario): Promise<boolean> {
  const stack = await startStack({ aof: scenario === 'infra' });
  const children: Child[] = [];
  let tmo: TmoSimulator | undefined;
  let crm: CrmSimulator | undefined;
  const redis = new Redis(stack.redis.url, { maxRetriesPerRequest: null });
  redis.on('error', () => undefined); // the infra scenario kills Redis on purpose
  const queues = ['ops-tmo', 'ops-crm'].map((name) => new Queue(name, { connection: redis, prefix: '{lgw}:bull' }));
  for (const q of queues) q.on('error', () => undefined);
  const hardCap = setTimeout(() => {
    say(`HARD CAP of ${HARD_CAP_MS / 1000}s reached: giving up (could not drain)`);
    // no orphans: the children and the private redis-server go with us
    for (const c of children) c.proc.kill('SIGKILL');
    void stack.close().finally(() => process.exit(2));
  }, HARD_CAP_MS);
  hardCap.unref();

  try {
    [tmo, crm] = await Promise.all([startTmoSimulator({ seed: SEED }), startCrmSimulator({ seed: SEED })]);
    // legacy: one HTTP-only gateway + one worker; infra: one gateway running inline writes AND
    // the workers (the process that is killed); scale: two HTTP-only gateways + two workers
    const nGateways = scenario === 'scale' ? 2 : 1;
    const nWorkers = scenario === 'scale' ? 2 : scenario === 'legacy' ? 1 : 0;
    const ports = await Promise.all(Array.from({ length: nGateways }, () => freePort()));
    const envOf = (port: number) =>
      stack.env(
        { tmoUrl: tmo?.url ?? '', crmUrl: crm?.url ?? '' },
        {
          PORT: String(port),
          WORKERS_IN_PROCESS: scenario === 'infra' ? 'true' : 'false',
          WORKER_CONCURRENCY: argv['worker-concurrency'],
          TMO_TIMEOUT_MS: String(LEGACY_TIMEOUT_MS),
          CRM_TIMEOUT_MS: String(LEGACY_TIMEOUT_MS),
          // faster than the production default (2 s) so the bench drains in minutes; same shape
          TMO_RETRY_BACKOFF_MS: '500',
          CRM_RETRY_BACKOFF_MS: '500',
          TMO_BREAKER_RESET_MS: '5000',
          CRM_BREAKER_RESET_MS: '5000',
        },
      );
    const env = envOf(ports[0] ?? 0);
    say(`[${scenario}] stack: redis ${stack.redis.url}${stack.faultable ? ' (AOF everysec)' : ''}, TMO ${tmo.url}, CRM ${crm.url}, logs in ${stack.dir}`);
    let gatewaySeq = 1;
    const startGatewayChild = (i: number) => {
      const g = spawnTs(`gateway-${gatewaySeq}`, 'src/main.ts', envOf(ports[i] ?? 0), join(stack.dir, `gateway-${gatewaySeq}.log`));
      gatewaySeq += 1;
      children.push(g);
      return g;
    };
    const gateways = ports.map((_, i) => startGatewayChild(i));
    let workerSeq = 1;
    const startWorker = () => {
      const w = spawnTs(`worker-${workerSeq}`, 'src/worker.ts', env, join(stack.dir, `worker-${workerSeq}.log`));
      workerSeq += 1;
      children.push(w);
      return w;
    };
    const workerProcs = Array.from({ length: nWorkers }, () => startWorker());
    let worker = workerProcs[0];

    const http: Http = {
      bases: ports.map((p) => `http://127.0.0.1:${p}`),
      token: await stack.devKeys.signToken(BENCH_SCOPES, { subject: 'bench-client', expiresIn: '2h' }),
      fiveHundreds: [],
    };
    const ready = (base: string) => waitFor(`the gateway ${base}`, async () => (await fetch(`${base}/health/ready`)).status === 200, 180_000, 200);
    await Promise.all(http.bases.map(ready));
    const workersOnline = async () => (await queues[0]?.getWorkersCount()) ?? 0;
    await waitFor("the workers", async () => (await workersOnline()) >= Math.max(1, nWorkers), 180_000, 200);
    say(`gateways ${http.bases.join(', ')} and ${nWorkers === 0 ? 'in-process workers' : `${nWorkers} worker process(es)`} are up`);

    // ---- set-up: the merchants the orders are for, onboarded while the systems are healthy
    const nOnboard = Math.floor(N / 2);
    const nOrders = N - nOnboard;
    const nMerchants = Math.ceil(nOrders / ORDERS_PER_MERCHANT);
    const merchantIds: string[] = new Array<string>(nMerchants).fill('');
    {
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          for (let i = next++; i < nMerchants; i = next++) {
            const vat = vatOf(2, i);
            const r = await send(http, 'POST', '/v1/merchants', onboardBody(vat, `ORDER MERCHANT ${i}`), `setup-${vat}`);
            const id = str(field(r.json, 'id'));
            if ((r.status !== 201 && r.status !== 200) || !id) throw new Error(`set-up onboarding ${vat} answered ${r.status}`);
            merchantIds[i] = id;
          }
        }),
      );
    }
    const midOf = new Map([...tmo.state.merchantsByVat()].map(([vat, m]) => [vat, m.MID]));
    say(`set-up: ${nMerchants} merchants onboarded for the orders`);

    // ---- the workload, shuffled so onboardings and orders (and a merchant's orders) interleave
    const random = rng(SEED);
    const writes: Write[] = [
      ...Array.from({ length: nOnboard }, (_, i): Write => ({ kind: 'onboard', n: i, vat: vatOf(1, i) })),
      ...Array.from({ length: nOrders }, (_, i): Write => ({
        kind: 'order',
        n: i,
        merchantIndex: Math.floor(i / ORDERS_PER_MERCHANT),
        combo: SAME_COMBO ? COMBOS[0] : (COMBOS[i % ORDERS_PER_MERCHANT] ?? COMBOS[0]),
      })),
    ];
    for (let i = writes.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [writes[i], writes[j]] = [writes[j] as Write, writes[i] as Write];
    }

    const faults = { faultRate: FAULT_RATE, latencyMs: { min: 2, max: 25 } };
    tmo.faults.set(faults);
    crm.faults.set(faults);
    const sims = { tmo, crm };

    // ---- the disturbances, triggered by progress so they land mid-run at any speed
    const events: string[] = [];
    let lastOutageEnd = 0;
    const outage = (system: 'tmo' | 'crm') => {
      sims[system].faults.outageFor(OUTAGE_MS);
      lastOutageEnd = Math.max(lastOutageEnd, Date.now() + OUTAGE_MS);
      events.push(`${since()} ${system.toUpperCase()} outage for ${OUTAGE_MS / 1000}s`);
    };
    const killedOps = new Set<string>();
    const killWorker = async () => {
      // Kill it while it is in the middle of jobs (legacy calls in flight), not while it idles.
      const until = Date.now() + 15_000;
      let active: string[] = [];
      while (Date.now() < until) {
        active = (await Promise.all(queues.map((q) => q.getActive()))).flat().map((j) => String(field(j.data, 'operationId') ?? ''));
        if (active.length >= 4) break;
        await sleep(10);
      }
      if (!worker) return;
      worker.proc.kill('SIGKILL');
      await worker.exited;
      for (const id of active) killedOps.add(id);
      events.push(`${since()} worker SIGKILLed with ${active.length} jobs active`);
      await sleep(3000);
      worker = startWorker();
      events.push(`${since()} worker restarted (pid ${worker.proc.pid ?? '?'})`);
    };
    const ambiguous = async () => {
      // Writes are applied, then answered after the client's timeout: the gateway cannot tell.
      for (const s of [tmo, crm]) s?.faults.set({ ...s.faults.get(), hangAfterApplyMs: LEGACY_TIMEOUT_MS + 500 });
      events.push(`${since()} ambiguous window: writes applied but answered after the timeout, 5s`);
      await sleep(5000);
      for (const s of [tmo, crm]) s?.faults.set({ ...s.faults.get(), hangAfterApplyMs: 0 });
    };
    // ---- infrastructure faults (infra, scale)
    /** Redis down or stalled: 503 answers in these windows (plus 2 s) are counted */
    const redisWindows: { what: string; from: number; until: number }[] = [];
    const faultable = stack.faultable;
    const redisKill = async () => {
      if (!faultable) return;
      const from = Date.now();
      await faultable.kill();
      events.push(`${since()} Redis SIGKILLed (AOF everysec); restarted on the same data dir in 3s`);
      await sleep(3000);
      await faultable.restart();
      redisWindows.push({ what: 'Redis outage', from, until: Date.now() });
      lastOutageEnd = Math.max(lastOutageEnd, Date.now());
      events.push(`${since()} Redis restarted`);
    };
    const redisStall = async () => {
      if (!faultable) return;
      const from = Date.now();
      faultable.pause();
      events.push(`${since()} Redis stalled (SIGSTOP) for 5s`);
      await sleep(5000);
      faultable.resume();
      redisWindows.push({ what: 'Redis stall', from, until: Date.now() });
      lastOutageEnd = Math.max(lastOutageEnd, Date.now());
      events.push(`${since()} Redis resumed (SIGCONT)`);
    };
    const gatewayKill = async () => {
      const g = gateways[0];
      if (!g) return;
      g.proc.kill('SIGKILL');
      await g.exited;
      events.push(`${since()} gateway SIGKILLed (inline writes and workers in flight); restarted at once`);
      gateways[0] = startGatewayChild(0);
      await ready(http.bases[0] ?? '');
      lastOutageEnd = Math.max(lastOutageEnd, Date.now());
      events.push(`${since()} gateway restarted and ready (pid ${gateways[0].proc.pid ?? '?'})`);
    };
    const killOneWorker = async () => {
      const w = workerProcs[1];
      if (!w) return;
      const active = (await Promise.all(queues.map((q) => q.getActive()))).flat().length;
      w.proc.kill('SIGKILL');
      await w.exited;
      lastOutageEnd = Math.max(lastOutageEnd, Date.now());
      events.push(`${since()} one of two workers SIGKILLed (${active} jobs active across both), not restarted`);
    };
    const schedule: { at: number; run: () => Promise<void> | void; fired: boolean }[] =
      scenario === 'infra'
        ? [
            { at: 0.15, run: redisKill, fired: false },
            { at: 0.4, run: gatewayKill, fired: false },
            { at: 0.65, run: redisStall, fired: false },
          ]
        : scenario === 'scale'
          ? [{ at: 0.3, run: killOneWorker, fired: false }]
          : [
              ...(KILL ? [{ at: 0.1, run: killWorker, fired: false }] : []),
              { at: 0.2, run: () => outage('tmo'), fired: false },
              ...(AMBIGUOUS ? [{ at: 0.5, run: ambiguous, fired: false }] : []),
              { at: 0.65, run: () => outage('crm'), fired: false },
            ];
    const background: Promise<void>[] = [];

    const outcomes = new Map<Write, Outcome>();
    let started = 0;
    const submitStart = Date.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, lane) => {
        const laneRandom = rng(SEED * 1000 + lane);
        for (let i = started++; i < writes.length; i = started++) {
          for (const e of schedule) {
            if (!e.fired && i >= e.at * writes.length) {
              e.fired = true;
              background.push(Promise.resolve(e.run()));
            }
          }
          const w = writes[i] as Write;
          const o =
            w.kind === 'onboard'
              ? await write(http, '/v1/merchants', onboardBody(w.vat, `BENCH MERCHANT ${w.n}`), `onb-${w.vat}`, laneRandom)
              : await write(http, `/v1/merchants/${merchantIds[w.merchantIndex] ?? ''}/terminals`, orderBody(w), `ord-${w.n}`, laneRandom);
          outcomes.set(w, o);
          if (outcomes.size % 250 === 0) say(`${outcomes.size}/${writes.length} writes answered`);
        }
      }),
    );
    const submitMs = Date.now() - submitStart;
    await Promise.all(background);
    say(`all ${writes.length} writes answered in ${(submitMs / 1000).toFixed(1)}s; waiting for the last outage to end`);
    await sleep(Math.max(0, lastOutageEnd - Date.now()));

    // ---- drain: poll every accepted operation until it is succeeded or failed
    const pending = () => [...outcomes.values()].filter((o) => o.operationId && (o.opStatus === null || o.opStatus === 'queued' || o.opStatus === 'running'));
    let lastReport = 0;
    for (;;) {
      const open = pending();
      if (open.length === 0) break;
      if (Date.now() - lastReport > 5000) {
        say(`draining: ${open.length} operations not finished`);
        lastReport = Date.now();
      }
      let k = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          for (let i = k++; i < open.length; i = k++) {
            const o = open[i] as Outcome;
            const r = await send(http, 'GET', `/v1/operations/${o.operationId ?? ''}`, undefined).catch(() => null);
            if (!r) continue;
            if (r.status === 404) o.opStatus = 'missing';
            const st = str(field(r.json, 'status'));
            if (st === 'succeeded' || st === 'failed' || st === 'queued' || st === 'running') o.opStatus = st;
            if (st === 'succeeded' || st === 'failed' || r.status === 404) {
              o.finishedAt = Date.now();
              o.resourceId = str(field(field(r.json, 'resource'), 'id'));
            }
          }
        }),
      );
      if (pending().length > 0) await sleep(500);
    }
    const drainedAt = Math.max(...[...outcomes.values()].map((o) => o.finishedAt));
    const drainMs = Math.max(0, drainedAt - lastOutageEnd);
    say(`drained: every accepted operation is finished, ${(drainMs / 1000).toFixed(1)}s after the last outage ended`);

    // ---- dead letters, as an operator sees them
    const summary = await send(http, 'GET', '/ops/dead-letters/summary', undefined);
    const dlVisible = new Map<string, { reason: string; code: string }>();
    for (const o of outcomes.values()) {
      if (o.opStatus !== 'failed' || !o.operationId) continue;
      const r = await send(http, 'GET', `/ops/dead-letters/${o.operationId}`, undefined);
      if (r.status === 200) dlVisible.set(o.operationId, { reason: str(field(r.json, 'reason')) ?? '?', code: str(field(r.json, 'errorCode')) ?? '?' });
    }
    const leftover = await Promise.all(queues.map((q) => q.getJobCounts('waiting', 'active', 'delayed', 'prioritized')));

    // ---- the simulators' own records
    for (const s of [tmo, crm]) s.faults.reset();
    const crmByVat = crm.state.customersByVat();
    const tmoByVat = tmo.state.merchantsByVat();
    const terminalsByOrder = new Map<number, { tid: string; mid: string; model: string; contactless: boolean }[]>();
    for (const [mid, ts] of tmo.state.terminalsByMid()) {
      for (const t of ts) {
        const m = /ORDINE (\d+)$/.exec(t.shipTo.SHIP_ADDR_LINE);
        if (!m) continue;
        const n = Number(m[1]);
        const list = terminalsByOrder.get(n) ?? [];
        list.push({ tid: t.TID, mid, model: t.MODEL, contactless: t.CONTACTLESS === 'Y' });
        terminalsByOrder.set(n, list);
      }
    }

    type Verdict = 'once' | 'twice' | 'none' | 'partial' | 'wrong';
    const verdictOf = (w: Write): { verdict: Verdict; resourceId: string | null } => {
      if (w.kind === 'onboard') {
        const c = crmByVat.get(w.vat);
        const m = tmoByVat.get(w.vat);
        const refs = c?.ExternalRefs.filter((r) => r.System === 'TMO') ?? [];
        if (!c && !m) return { verdict: 'none', resourceId: null };
        if (refs.length > 1) return { verdict: 'twice', resourceId: c?.CustId ?? null };
        if (c && m && refs.length === 1 && refs[0]?.Value === m.MID && m.CRM_REF === c.CustId) return { verdict: 'once', resourceId: c.CustId };
        return { verdict: c && m && refs.length === 1 ? 'wrong' : 'partial', resourceId: c?.CustId ?? null };
      }
      const ts = terminalsByOrder.get(w.n) ?? [];
      if (ts.length === 0) return { verdict: 'none', resourceId: null };
      if (ts.length > 1) return { verdict: 'twice', resourceId: null };
      const t = ts[0];
      const mid = midOf.get(vatOf(2, w.merchantIndex));
      const ok = t && t.mid === mid && t.model === w.combo.model && t.contactless === w.combo.contactless;
      return { verdict: ok ? 'once' : 'wrong', resourceId: t?.tid ?? null };
    };

    const killed = { total: killedOps.size, once: 0, other: [] as string[] };
    for (const w of writes) {
      const o = outcomes.get(w);
      if (!o?.operationId || !killedOps.has(o.operationId)) continue;
      const v = verdictOf(w).verdict;
      if (v === 'once' && o.opStatus === 'succeeded') killed.once += 1;
      else killed.other.push(`${w.kind} #${w.n}: ${v}, ${o.opStatus ?? '?'}`);
    }
    const count = { accepted: 0, inline: 0, queued: 0, rejected: 0, gaveUp: 0, once: 0, twice: 0, lost: 0, deadLettered: 0, invisibleFailed: 0, misreported: 0, notAcceptedButApplied: 0, resent: 0 };
    const byKind = { onboard: { ...count }, order: { ...count } };
    const dlReasons = new Map<string, number>();
    const problems: string[] = [];
    for (const w of writes) {
      const o = outcomes.get(w);
      if (!o) throw new Error('a write has no outcome');
      const c = byKind[w.kind];
      const v = verdictOf(w);
      if (o.sends > 1) c.resent += 1;
      if (v.verdict === 'twice') {
        c.twice += 1;
        problems.push(`${w.kind} #${w.n}: applied twice (${JSON.stringify(o)})`);
      }
      const accepted = o.status === 200 || o.status === 201 || o.status === 202;
      if (!accepted) {
        if (o.status === 0) c.gaveUp += 1;
        else c.rejected += 1;
        if (v.verdict !== 'none') c.notAcceptedButApplied += 1;
        problems.push(`${w.kind} #${w.n}: not accepted (${o.status} ${o.code ?? ''}), records: ${v.verdict}`);
        continue;
      }
      c.accepted += 1;
      if (o.status === 202) c.queued += 1;
      else c.inline += 1;
      if (o.opStatus === 'failed') {
        const dl = o.operationId ? dlVisible.get(o.operationId) : undefined;
        if (dl) {
          c.deadLettered += 1;
          const key = `${dl.reason} (${dl.code})${v.verdict === 'none' ? '' : `, records: ${v.verdict}`}`;
          dlReasons.set(key, (dlReasons.get(key) ?? 0) + 1);
        } else {
          c.invisibleFailed += 1;
          c.lost += 1;
          problems.push(`${w.kind} #${w.n}: operation failed with no visible dead letter, records: ${v.verdict}`);
        }
        continue;
      }
      if (o.opStatus !== 'succeeded') {
        c.lost += 1;
        problems.push(`${w.kind} #${w.n}: operation ${o.operationId ?? ''} ended ${o.opStatus ?? 'unknown'}`);
        continue;
      }
      if (v.verdict === 'once') {
        c.once += 1;
        if (o.resourceId && v.resourceId && o.resourceId !== v.resourceId) {
          c.misreported += 1;
          problems.push(`${w.kind} #${w.n}: gateway reported ${o.resourceId}, records say ${v.resourceId}`);
        }
      } else if (v.verdict !== 'twice') {
        c.lost += 1;
        problems.push(`${w.kind} #${w.n}: reported succeeded but records say ${v.verdict}`);
      }
    }

    // ---- report
    const rows: (string | number)[][] = [['', 'onboardings', 'orders', 'total']];
    const line = (label: string, k: keyof typeof count) => rows.push([label, byKind.onboard[k], byKind.order[k], byKind.onboard[k] + byKind.order[k]]);
    line('logical writes', 'accepted'); // replaced below
    rows[1] = ['logical writes', nOnboard, nOrders, N];
    line('accepted', 'accepted');
    line('  answered 201/200 (inline)', 'inline');
    line('  answered 202 (queued)', 'queued');
    line('  resent by the client (same key)', 'resent');
    line('applied exactly once', 'once');
    line('APPLIED TWICE', 'twice');
    line('LOST', 'lost');
    line('  of which failed, no dead letter', 'invisibleFailed');
    line('dead-lettered (visible to ops)', 'deadLettered');
    line('rejected 4xx (final)', 'rejected');
    line('client gave up (no answer)', 'gaveUp');
    line('  not accepted but applied', 'notAcceptedButApplied');
    line('success reported with wrong id', 'misreported');
    const in503 = (w: { from: number; until: number }) => http.fiveHundreds.filter((a) => a.status === 503 && a.at >= w.from && a.at <= w.until + 2000).length;
    const windowRows = redisWindows.map((w) => `  ${w.what} (${((w.until - w.from) / 1000).toFixed(1)}s): ${in503(w)} answers 503 (to writes and polls, up to 2 s after)`);
    const dlTotal = byKind.onboard.deadLettered + byKind.order.deadLettered;

    const tmoCalls = tmo.state.callCounts();
    const crmCalls = crm.state.callCounts();
    const crmState = crm.state;
    const tmoState = tmo.state;
    const resends = {
      createCustomer: [...Array(nOnboard).keys()].reduce((a, i) => a + Math.max(0, crmState.createCalls(vatOf(1, i)) - 1), 0),
      registerMerchant: [...Array(nOnboard).keys()].reduce((a, i) => a + Math.max(0, tmoState.registerCalls(vatOf(1, i)) - 1), 0),
    };

    process.stdout.write(
      [
        '',
        `durability bench, scenario ${scenario} — ${new Date().toISOString()}, N=${N}, gateways ${nGateways}, worker processes ${nWorkers === 0 ? '0 (in the gateway)' : nWorkers}, client concurrency ${CONCURRENCY}, worker concurrency ${argv['worker-concurrency']}/queue, seed ${SEED}${SAME_COMBO ? ', SAME COMBO orders' : ''}`,
        `faults: ${FAULT_RATE * 100}% system faults on both systems throughout, latency 2–25 ms, legacy timeout ${LEGACY_TIMEOUT_MS} ms, client timeout ${CLIENT_TIMEOUT_MS} ms`,
        ...events.map((e) => `  event @${e}`),
        '',
        table(rows),
        '',
        'dead letters by reason (per operation):',
        ...(dlReasons.size === 0 ? ['  none'] : [...dlReasons].map(([k, v]) => `  ${String(v).padStart(5)}  ${k}`)),
        `GET /ops/dead-letters/summary: ${JSON.stringify(field(summary.json, 'items'))}`,
        '',
        ...(scenario === 'legacy'
          ? [`jobs active when the worker was killed: ${killed.total}, applied exactly once and succeeded: ${killed.once}${killed.other.length ? `, others: ${killed.other.join('; ')}` : ''}`]
          : []),
        `503 answers during the Redis outage/stall:${windowRows.length === 0 ? ' (no Redis fault in this scenario)' : ''}`,
        ...windowRows,
        `503 answers in the whole run: ${http.fiveHundreds.filter((a) => a.status === 503).length}`,
        `dead letters visible in /ops: ${dlVisible.size} of ${dlTotal} dead-lettered operations`,
        `submit phase ${(submitMs / 1000).toFixed(1)}s; drain time after the last fault: ${(drainMs / 1000).toFixed(1)}s`,
        `jobs left in the queues (waiting/active/delayed): ${JSON.stringify(leftover)}`,
        `legacy calls: TMO ${JSON.stringify(tmoCalls)}`,
        `              CRM ${JSON.stringify(crmCalls)}`,
        `resends absorbed by natural keys: CreateCustomer ${resends.createCustomer}, RegisterMerchant ${resends.registerMerchant}`,
        ...(problems.length > 0 ? ['', `problems (${problems.length}, first 20):`, ...problems.slice(0, 20).map((p) => `  ${p}`)] : []),
        '',
      ].join('\n'),
    );
    const twice = byKind.onboard.twice + byKind.order.twice;
    const lost = byKind.onboard.lost + byKind.order.lost;
    const ok = twice === 0 && lost === 0;
    say(ok ? `[${scenario}] PASS: applied twice = 0, lost = 0` : `[${scenario}] FAIL: applied twice = ${twice}, lost = ${lost}`);
    return ok;
  } finally {
    clearTimeout(hardCap);
    await Promise.allSettled(children.map((c) => c.stop()));
    await Promise.allSettled(queues.map((q) => q.close()));
    await redis.quit().catch(() => undefined);
    await Promise.allSettled([tmo?.close(), crm?.close()]);
    await stack.close();
  }
}

async function main(): Promise<number> {
  const results: string[] = [];
  let failed = false;
  for (const scenario of SCENARIOS) {
    const ok = await runScenario(scenario);
    results.push(`${scenario}: ${ok ? 'PASS' : 'FAIL'}`);
    failed ||= !ok;
  }
  if (SCENARIOS.length > 1) say(`scenarios: ${results.join(', ')}`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`durability bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
