/**
 * The legacy read's own CPU per call, A/B in one process (issue 8): `readThrough` → terminal
 * service `get` (merchant link cached, as in steady state) → TMO adapter (breaker + bulkhead)
 * → lean SOAP client → undici transport, of two checkouts, against a SOAP stub in its own
 * process (bench/support/soap-stub-process.ts) replaying fixtures/samples/tmo/get-terminal-active.
 * Every call carries a live AbortSignal, as an HTTP request's does. Only this process's CPU is
 * counted (the stub's is its own). Batches alternate A, B, B, A, …; prints both medians and the
 * median of the per-pair ratios B/A.
 *
 *   npx tsx bench/facade/call-path.ts --a /tmp/base --b . [--pairs 20] [--requests 20000] [--concurrency 20]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CannedReplies } from '../support/soap-stub.ts';
import { parseAbArgs, runAbPairs } from '../support/ab-pairs.ts';

const args = parseAbArgs(40000);
const { pairs, perBatch, concurrency } = args;
const ROOT = resolve(import.meta.dirname, '../..');
const SAMPLE = join(ROOT, 'fixtures/samples/tmo/get-terminal-active');
const TID = 'WAS98KWZ';

const workDir = mkdtempSync(join(tmpdir(), 'lgw-call-path-'));
const replies: CannedReplies = {
  GetTerminal: {
    status: 200,
    headers: [['Content-Type', 'text/xml; charset=utf-8']],
    bodyBase64: readFileSync(join(SAMPLE, 'response.xml')).toString('base64'),
  },
};
writeFileSync(join(workDir, 'replies.json'), JSON.stringify(replies));
const stub = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/support/soap-stub-process.ts'), join(workDir, 'replies.json')], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
process.on('exit', () => {
  stub.kill();
  rmSync(workDir, { recursive: true, force: true });
});
const stubUrl = await new Promise<string>((done, fail) => {
  let buf = '';
  stub.stdout.on('data', (b: Buffer) => {
    buf += b.toString();
    const nl = buf.indexOf('\n');
    if (nl >= 0) done((JSON.parse(buf.slice(0, nl)) as { url: string }).url);
  });
  stub.once('exit', (code) => fail(new Error(`stub exited (${String(code)})`)));
});

type Read = (signal: AbortSignal) => Promise<unknown>;

/** One checkout's read path, wired as src/main.ts wires it (no tracer, no last-known store). */
async function build(root: string): Promise<Read> {
  const src = (p: string) => import(join(resolve(root), 'src', p));
  const { createTmoAdapter } = (await src('adapters/soap/tmo-adapter.ts')) as typeof import('../../src/adapters/soap/tmo-adapter.ts');
  const { createServices, MerchantLinks } = (await src('domain/services/index.ts')) as typeof import('../../src/domain/services/index.ts');
  const { readThrough } = (await src('api/stale-if-error.ts')) as typeof import('../../src/api/stale-if-error.ts');
  const tmo = await createTmoAdapter({
    endpoint: `${stubUrl}/tmo`,
    wsdlPath: join(root, 'fixtures/tmo/TerminalManagement.wsdl'),
    username: 'gateway',
    password: 'bench-password',
    timeoutMs: 5_000,
    breaker: { errorThresholdPercentage: 50, volumeThreshold: 20, resetTimeoutMs: 30_000, rollingWindowMs: 10_000 },
    bulkhead: { limit: 32, maxQueue: 200, queueTimeoutMs: 5_000 },
    timeZone: 'Europe/Rome',
  });
  const links = new MerchantLinks();
  links.remember('M000000001', '000000000000001');
  const { terminals } = createServices({ crm: {} as Parameters<typeof createServices>[0]['crm'], tmo, links });
  const c = {} as Parameters<typeof readThrough>[0]; // only read on the outage branch
  return (signal) => readThrough(c, undefined, 'terminal', TID, () => terminals.get(TID, { requestId: 'bench-request-0001', signal }));
}

async function batch(read: Read, n: number): Promise<number> {
  let left = n;
  const worker = async () => {
    while (left-- > 0) {
      // one controller per call, as @hono/node-server makes one per request
      const t = (await read(new AbortController().signal)) as { id?: string };
      if (t.id !== TID) throw new Error('unexpected terminal');
    }
  };
  const c0 = process.cpuUsage();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

const paths = { A: await build(args.a), B: await build(args.b) };
await runAbPairs({ sides: paths, batch, pairs, perBatch, warmup: args.warmup, what: 'call-path CPU µs/call', unit: `calls, ${concurrency} in flight` });
process.exit(0);
