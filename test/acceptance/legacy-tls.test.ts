/**
 * Acceptance (issue 7): TLS to the legacy systems is configured by the environment —
 * `TMO_CA_FILE` (a private CA) and `TMO_CLIENT_CERT_FILE`/`TMO_CLIENT_KEY_FILE` (mutual TLS) —
 * and reaches the adapters of the REAL assembled gateway. TMO is the simulator behind a TLS
 * proxy that requires a client certificate, all signed by a CA made in the test (openssl).
 * Missing trust or certificate: a clean 503 problem, and the gateway keeps serving.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestPki, startTlsProxy, type TestPki, type TlsProxy } from '../../src/adapters/soap/testing/tls.ts';
import { ConfigError } from '../../src/config.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { createCapturedLogger } from '../support/log-capture.ts';
import { configOnFreePort, connectedSetup, flushDb, redisOnDb, startLegacy, type ConnectedSetup, type Legacy, REDIS_DBS } from './support.ts';

const REDIS_DB = REDIS_DBS.legacyTls;

let legacy: Legacy | undefined;
let setup: ConnectedSetup | undefined;
let pki: TestPki | undefined;
let proxy: TlsProxy | undefined;
let token = '';
const gateways: Gateway[] = [];

beforeAll(async () => {
  const redisUrl = redisOnDb(inject('redisUrl'), REDIS_DB);
  await flushDb(redisUrl);
  legacy = await startLegacy();
  pki = createTestPki();
  proxy = await startTlsProxy(pki, Number(new URL(legacy.tmo.url).port), { requireClientCert: true });
  setup = await connectedSetup(legacy, redisUrl, { WORKERS_IN_PROCESS: 'false', TMO_URL: `${proxy.origin}${new URL(legacy.tmo.url).pathname}` });
  token = await setup.keys.signToken(['terminals:read'], { subject: 'client-tls' });
}, 30_000);

afterAll(async () => {
  for (const gw of gateways) await gw.close();
  await proxy?.close();
  await legacy?.close();
  pki?.cleanup();
  setup?.cleanup();
});

async function gatewayWith(env: Record<string, string>, label: string): Promise<Gateway> {
  if (!setup) throw new Error('set-up failed');
  const gw = await startGateway(configOnFreePort({ ...setup.env, ...env }), createCapturedLogger({ name: `acceptance-tls-${label}` }), { listen: false });
  gateways.push(gw);
  return gw;
}

const readTerminal = (gw: Gateway) => gw.app.request('/v1/terminals/ZZZZ0001', { headers: { Authorization: `Bearer ${token}` } });

describe('acceptance: TLS to the legacy systems', () => {
  it('when TMO_CA_FILE and the client certificate are configured, then TMO answers over mutual TLS', async () => {
    if (!pki) throw new Error('set-up failed');
    const gw = await gatewayWith({ TMO_CA_FILE: pki.caFile, TMO_CLIENT_CERT_FILE: pki.clientCertFile, TMO_CLIENT_KEY_FILE: pki.clientKeyFile }, 'mtls');
    const res = await readTerminal(gw);
    // TMO's own E202 came back through the tunnel
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'terminal.not_found' });
  }, 30_000);

  it.each([
    ['no TMO_CA_FILE', (p: TestPki) => ({ TMO_CLIENT_CERT_FILE: p.clientCertFile, TMO_CLIENT_KEY_FILE: p.clientKeyFile })],
    ['no client certificate', (p: TestPki) => ({ TMO_CA_FILE: p.caFile })],
  ])('when the gateway has %s, then the read is a clean 503 problem and the gateway keeps serving', async (label, env) => {
    if (!pki) throw new Error('set-up failed');
    const gw = await gatewayWith(env(pki), label.replace(/\W+/g, '-'));
    const res = await readTerminal(gw);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await res.json()).toMatchObject({ code: 'upstream.unavailable' });
    expect((await gw.app.request('/health/live')).status).toBe(200);
  }, 30_000);

  it('when TMO_CA_FILE cannot be read, then the start fails with a ConfigError naming it', async () => {
    if (!setup) throw new Error('set-up failed');
    const config = configOnFreePort({ ...setup.env, TMO_CA_FILE: '/nonexistent/ca.pem' });
    const err = await startGateway(config, createCapturedLogger({ name: 'acceptance-tls-unreadable' }), { listen: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([{ variable: 'TMO_CA_FILE', message: expect.stringContaining('ENOENT') }]);
  }, 30_000);
});
