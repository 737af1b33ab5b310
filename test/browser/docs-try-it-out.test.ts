/**
 * "Try it out" in /docs (Swagger UI, served by the gateway from swagger-ui-dist) on
 * `POST /v1/merchants`: with the bearer token given to "Authorize" and the Idempotency-Key
 * field the document declares filled in, the request succeeds (201) — as a new user would do it.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { createCapturedLogger } from '../support/log-capture.ts';
import { hasChromium, launchChromium } from './support.ts';
import {
  configOnFreePort,
  connectedSetup,
  flushDb,
  merchantBody,
  randomVat,
  redisOnDb,
  startLegacy,
  type ConnectedSetup,
  type Legacy,
  REDIS_DBS,
} from '../acceptance/support.ts';

const REDIS_DB = REDIS_DBS.docsTryItOut;
const SCREENSHOT = fileURLToPath(new URL('../../.tmp/browser/docs-try-it-out.png', import.meta.url));
const chromiumFound = hasChromium('test/browser/docs-try-it-out.test.ts');

let legacy: Legacy | undefined;
let setup: ConnectedSetup | undefined;
let gw: Gateway | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!chromiumFound) return;
  const redisUrl = redisOnDb(inject('redisUrl'), REDIS_DB);
  await flushDb(redisUrl);
  legacy = await startLegacy();
  setup = await connectedSetup(legacy, redisUrl);
  gw = await startGateway(configOnFreePort(setup.env), createCapturedLogger({ name: 'browser-docs' }), { listen: true, workers: true });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await gw?.close();
  await legacy?.close();
  setup?.cleanup();
});

describe.skipIf(!chromiumFound)('browser: /docs Try it out', () => {
  it('when POST /v1/merchants is tried out with a token and an Idempotency-Key, then it answers 201 and the merchant exists', async () => {
    if (!gw?.url || !setup || !browser || !legacy) throw new Error('set-up failed');
    const base = gw.url;
    const token = await setup.keys.signToken(['merchants:read', 'merchants:write'], { subject: 'client-docs' });
    const vat = randomVat();

    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    try {
      const page = await context.newPage();
      const answered = new Promise<{ status: number; body: string }>((resolve) => {
        page.on('response', (r) => {
          if (r.url() === `${base}/v1/merchants` && r.request().method() === 'POST') void r.text().then((body) => resolve({ status: r.status(), body }));
        });
      });
      expect((await page.goto(`${base}/docs`, { waitUntil: 'networkidle' }))?.status()).toBe(200);

      // Authorize: the bearer token
      await page.locator('button.authorize').first().click();
      await page.locator('.modal-ux input').first().fill(token);
      await page.locator('.modal-ux button.authorize').click();
      await page.locator('.modal-ux button.btn-done, .modal-ux button.close-modal').first().click();

      // The operation, Try it out, the headers the document declares, a body
      const op = page.locator('#operations-Merchants-onboardMerchant');
      await op.locator('.opblock-summary').first().click();
      await op.locator('button.try-out__btn').click();
      await op.locator('tr[data-param-name="Idempotency-Key"] input').fill(`docs-${vat}`);
      await op.locator('textarea.body-param__text').fill(JSON.stringify(merchantBody(vat), null, 2));
      await op.locator('button.execute').click();

      const res = await answered;
      await op.locator('.live-responses-table tr.response .response-col_status').first().waitFor({ state: 'visible', timeout: 10_000 });
      mkdirSync(dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      expect(res.status, res.body).toBe(201);
      expect((await op.locator('.live-responses-table tr.response .response-col_status').first().innerText()).trim()).toBe('201');
      expect((JSON.parse(res.body) as { vatNumber: string }).vatNumber).toBe(vat);
      expect(legacy.tmo.state.merchantsByVat().has(vat)).toBe(true);
    } finally {
      await context.close();
    }
  }, 60_000);
});
