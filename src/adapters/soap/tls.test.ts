// TLS to the legacy systems (issue 7): the simulators behind a TLS-terminating proxy whose
// certificate a private CA signed (made in the test with openssl), with and without mutual TLS.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCrmSimulator, startTmoSimulator, type CrmSimulator, type TmoSimulator } from '../../simulators/index.ts';
import { createCrmAdapter } from './crm-adapter.ts';
import { crmOptions, DEV, tmoOptions } from './testing/options.ts';
import { createTestPki, startTlsProxy, type TestPki, type TlsProxy } from './testing/tls.ts';
import { createTmoAdapter } from './tmo-adapter.ts';
import type { TransportTlsOptions } from './transport.ts';

const ctx = { requestId: 'tls-1' };
const REG = {
  vatNumber: '12345678901',
  name: 'Bar Tls Srl',
  mcc: '5812',
  address: { line1: 'Via Roma 1', city: 'Forli', postalCode: '47121', province: 'FC', country: 'IT' },
  customerId: 'C000012345',
};
// one call at a time: the breaker must not open between cases
const breaker = { errorThresholdPercentage: 50, volumeThreshold: 10_000, resetTimeoutMs: 1000, rollingWindowMs: 10_000 };

let pki: TestPki;
let tmoSim: TmoSimulator;
let crmSim: CrmSimulator;
let tmoTls: TlsProxy;
let tmoMtls: TlsProxy;
let crmTls: TlsProxy;

beforeAll(async () => {
  pki = createTestPki();
  [tmoSim, crmSim] = await Promise.all([startTmoSimulator({ port: 0, credentials: DEV }), startCrmSimulator({ port: 0, credentials: DEV })]);
  const portOf = (url: string) => Number(new URL(url).port);
  [tmoTls, tmoMtls, crmTls] = await Promise.all([
    startTlsProxy(pki, portOf(tmoSim.url)),
    startTlsProxy(pki, portOf(tmoSim.url), { requireClientCert: true }),
    startTlsProxy(pki, portOf(crmSim.url)),
  ]);
}, 30_000);
afterAll(async () => {
  await Promise.all([tmoTls?.close(), tmoMtls?.close(), crmTls?.close()]);
  await Promise.all([tmoSim?.close(), crmSim?.close()]);
  pki?.cleanup();
});

/** The simulator's endpoint (path) behind the proxy's https origin. */
const via = (proxy: TlsProxy, sim: { url: string }) => `${proxy.origin}${new URL(sim.url).pathname}`;

async function registerThrough(proxy: TlsProxy, tls: TransportTlsOptions | undefined) {
  const tmo = await createTmoAdapter(tmoOptions(via(proxy, tmoSim), { breaker, timeoutMs: 3000, ...(tls ? { tls } : {}) }));
  try {
    return await tmo.registerMerchant(REG, ctx);
  } finally {
    await tmo.close();
  }
}

describe('TLS to the legacy systems', () => {
  it('when the private CA is configured, then TMO over https answers', async () => {
    await expect(registerThrough(tmoTls, { ca: readFileSync(pki.caFile) })).resolves.toMatchObject({ tmoMerchantId: expect.stringMatching(/^\d{15}$/) });
  });

  it.each([
    ['no CA (Node default trust store)', () => undefined],
    ['another CA', () => ({ ca: readFileSync(pki.otherCaFile) })],
  ])('when TMO presents a certificate of the private CA and the gateway trusts %s, then the call fails as unavailable (no crash, nothing sent)', async (_label, tls) => {
    const before = tmoSim.state.recentCalls().length;
    await expect(registerThrough(tmoTls, tls())).rejects.toMatchObject({ kind: 'unavailable', code: 'tmo.unreachable' });
    expect(tmoSim.state.recentCalls().length).toBe(before);
  });

  it('when TMO requires a client certificate and the gateway has one of the CA, then the call succeeds', async () => {
    const tls = { ca: readFileSync(pki.caFile), cert: readFileSync(pki.clientCertFile), key: readFileSync(pki.clientKeyFile) };
    await expect(registerThrough(tmoMtls, tls)).resolves.toMatchObject({ tmoMerchantId: expect.stringMatching(/^\d{15}$/) });
  });

  it('when TMO requires a client certificate and the gateway has none, then the call fails as unavailable', async () => {
    const before = tmoSim.state.recentCalls().length;
    await expect(registerThrough(tmoMtls, { ca: readFileSync(pki.caFile) })).rejects.toMatchObject({ kind: 'unavailable' });
    expect(tmoSim.state.recentCalls().length).toBe(before);
  });

  it('when the private CA is configured for CRM, then CRM over https answers', async () => {
    const crm = await createCrmAdapter(crmOptions(via(crmTls, crmSim), { breaker, timeoutMs: 3000, tls: { ca: readFileSync(pki.caFile) } }));
    try {
      await expect(crm.getCustomer('C999999999', ctx)).rejects.toMatchObject({ kind: 'not_found', code: 'customer.not_found' });
    } finally {
      await crm.close();
    }
  });
});
