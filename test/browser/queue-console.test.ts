/**
 * Acceptance (durable writes): "A browser test (Debian `chromium` + `playwright-core`) opens
 * the queue console with a dead letter present and checks that it is listed."
 *
 * The real assembled gateway listens on a free port (connected mode, simulators, private
 * Redis, workers in process); an onboarding accepted with `Prefer: respond-async` for an MCC
 * TMO refuses (E102, a business outcome: never retried) is dead-lettered by the worker at once.
 * Chromium then opens bull-board at /ops/queues with an `ops:read` bearer token.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { QUEUE_NAMES } from '../../src/jobs/queues.ts';
import { TMO_DENIED_MCC } from '../../src/simulators/index.ts';
import { createCapturedLogger } from '../support/log-capture.ts';
import {
  configOnFreePort,
  connectedSetup,
  flushDb,
  IBAN,
  merchantBody,
  randomVat,
  redisOnDb,
  startLegacy,
  waitFor,
  type ConnectedSetup,
  type Legacy,
  REDIS_DBS,
} from '../acceptance/support.ts';

const CHROMIUM = '/usr/bin/chromium';
const REDIS_DB = REDIS_DBS.queueConsole;
const SCREENSHOT = fileURLToPath(new URL('../../.tmp/browser/queue-console-failed.png', import.meta.url));
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  // CI (`.ci/run`) installs it; a laptop without it skips rather than fails.
  console.warn(`test/browser/queue-console.test.ts: SKIPPED — ${CHROMIUM} not found (apt-get install chromium)`);
}

let legacy: Legacy | undefined;
let setup: ConnectedSetup | undefined;
let gw: Gateway | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!hasChromium) return;
  const redisUrl = redisOnDb(inject('redisUrl'), REDIS_DB);
  await flushDb(redisUrl);
  legacy = await startLegacy();
  setup = await connectedSetup(legacy, redisUrl);
  gw = await startGateway(configOnFreePort(setup.env), createCapturedLogger({ name: 'browser-queue-console' }), { listen: true, workers: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await gw?.close();
  await legacy?.close();
  setup?.cleanup();
});

describe.skipIf(!hasChromium)('browser: bull-board queue console', () => {
  it('when a dead letter exists, then the console lists its failed job on the queue failed tab, and without a token it answers 401', async () => {
    if (!gw?.url || !setup || !browser || !legacy) throw new Error('set-up failed');
    const base = gw.url;
    const writer = await setup.keys.signToken(['merchants:read', 'merchants:write'], { subject: 'client-browser' });
    const operator = await setup.keys.signToken(['ops:read'], { subject: 'operator-browser' });

    // An onboarding TMO refuses (denied MCC): accepted (202), then dead-lettered by the worker.
    const vat = randomVat();
    const mcc = [...TMO_DENIED_MCC][0] ?? '7995';
    const accepted = await fetch(`${base}/v1/merchants`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${writer}`,
        'Content-Type': 'application/json',
        'Idempotency-Key': `browser-${vat}`,
        Prefer: 'respond-async',
      },
      body: JSON.stringify(merchantBody(vat, { mcc })),
    });
    expect(accepted.status).toBe(202);
    const operationId = (accepted.headers.get('location') ?? '').replace('/v1/operations/', '');
    expect(operationId).toMatch(/^op_[0-9a-f]{32}$/);
    const deadLetter = await waitFor(
      'the dead letter',
      async () => {
        const res = await fetch(`${base}/ops/dead-letters/${operationId}`, { headers: { Authorization: `Bearer ${operator}` } });
        return res.status === 200 ? ((await res.json()) as { errorCode: string; reason: string; system: string }) : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(deadLetter).toMatchObject({ system: 'tmo', reason: 'not_retryable', errorCode: 'merchant.mcc_not_allowed' });

    // Without a token: 401, for the page and for the API bull-board's page calls.
    expect((await fetch(`${base}/ops/queues`)).status).toBe(401);
    expect((await fetch(`${base}/ops/queues/api/queues`)).status).toBe(401);

    const context = await browser.newContext({ extraHTTPHeaders: { Authorization: `Bearer ${operator}` }, viewport: { width: 1400, height: 900 } });
    try {
      const page = await context.newPage();
      // Every request the page makes — the HTML, its assets and the fetch() calls of the UI —
      // must carry the bearer token; a 401 anywhere would leave an empty console.
      const unauthorized: string[] = [];
      const apiCalls: string[] = [];
      page.on('response', (r) => {
        if (r.status() === 401) unauthorized.push(r.url());
        if (r.url().includes('/ops/queues/api/')) apiCalls.push(r.url());
      });

      const response = await page.goto(`${base}/ops/queues`, { waitUntil: 'networkidle' });
      expect(response?.status()).toBe(200);
      // As an operator would: the queue of the job (onboarding jobs live on the queue of their
      // first system), then its Failed tab.
      const queue = QUEUE_NAMES.crm;
      await page.locator('#bull-board-sidebar').getByRole('link', { name: queue, exact: true }).click();
      await page.waitForURL(`**/ops/queues/queue/${queue}**`, { timeout: 10_000 });
      await page.getByRole('link', { name: /^failed/i }).click();
      await page.waitForURL(/status=failed/, { timeout: 10_000 });
      const jobId = `${operationId}-r1`;
      await page.getByText(jobId, { exact: false }).first().waitFor({ state: 'visible', timeout: 15_000 });
      await expect.poll(() => page.getByText(/merchant\.onboard/).count(), { timeout: 5_000 }).toBeGreaterThan(0);
      const text = await page.locator('body').innerText();
      expect(text).toContain(jobId);
      expect(text).not.toContain(IBAN);

      mkdirSync(dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      expect(unauthorized).toEqual([]);
      expect(apiCalls.length).toBeGreaterThan(0);
    } finally {
      await context.close();
    }
  }, 45_000);
});
