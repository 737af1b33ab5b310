/**
 * Helpers for the simulators' own tests (and handy for other suites): real node-soap clients
 * wired to a simulator, and a way to look at a rejected call without logging it whole.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as soap from 'soap';
import { fixturePath } from './shared/soap.ts';

export const DEV_CREDENTIALS = { username: 'gateway', password: 'gateway-dev-secret' } as const;

/** A node-soap client for TMO (HTTP Basic). */
export async function tmoClient(endpoint: string, creds: { username: string; password: string } | null = DEV_CREDENTIALS): Promise<soap.Client> {
  const client = await soap.createClientAsync(fixturePath('tmo/TerminalManagement.wsdl'), { endpoint });
  if (creds) client.setSecurity(new soap.BasicAuthSecurity(creds.username, creds.password));
  return client;
}

/** A node-soap client for CRM (WS-Security UsernameToken, PasswordText unless told otherwise). */
export async function crmClient(
  endpoint: string,
  creds: { username: string; password: string } | null = DEV_CREDENTIALS,
  passwordType: 'PasswordText' | 'PasswordDigest' = 'PasswordText',
): Promise<soap.Client> {
  const client = await soap.createClientAsync(fixturePath('crm/CustomerService.wsdl'), { endpoint });
  if (creds) client.setSecurity(new soap.WSSecurity(creds.username, creds.password, { passwordType, hasTimeStamp: false }));
  return client;
}

/** The parts of a node-soap rejection the tests look at (never the whole object: it carries secrets). */
export interface CallFailure {
  status: number | undefined;
  body: string | undefined;
  code: string | undefined;
  fault: { faultcode?: string; faultstring?: string; detail?: { CrmError?: { Code?: string; Text?: string } } } | undefined;
}

export async function failure(p: Promise<unknown>): Promise<CallFailure> {
  try {
    await p;
  } catch (e) {
    const err = e as {
      code?: string;
      response?: { status?: number; data?: unknown };
      root?: { Envelope?: { Body?: { Fault?: CallFailure['fault'] } } };
    };
    return {
      status: err.response?.status,
      body: typeof err.response?.data === 'string' ? err.response.data : undefined,
      code: err.code,
      fault: err.root?.Envelope?.Body?.Fault,
    };
  }
  throw new Error('expected the call to fail');
}

/** Calls `<op>Async` and returns the parsed result (first element). */
export async function call<T = Record<string, unknown>>(
  client: soap.Client,
  op: string,
  args: unknown,
  options?: Record<string, unknown>,
  extraHeaders?: Record<string, string>,
): Promise<T> {
  const fn = (client as unknown as Record<string, (a: unknown, o?: unknown, h?: unknown) => Promise<[T]>>)[`${op}Async`];
  if (!fn) throw new Error(`no operation ${op}`);
  const [result] = await fn.call(client, args, options, extraHeaders);
  return result;
}

/** A valid merchant for `state.seedMerchant` (tests that need terminals, not merchant details). */
export function merchantSeed(vatNo: string) {
  return {
    VAT_NO: vatNo,
    MERCH_NAME: 'BAR CENTRALE',
    MCC: '5812',
    ADDR_LINE: 'VIA ROMA 1',
    CITY: 'MILANO',
    ZIP: '20121',
    PROV: 'MI',
    COUNTRY: 'IT',
    CRM_REF: 'C000000001',
  };
}

/** A proxy in front of a simulator endpoint that notes when each call passed (pacing checks). */
export interface CountingProxy {
  /** the endpoint to give the gateway instead of the simulator's (same path) */
  url: string;
  /** when each call arrived (ms since the epoch), in order */
  calls: number[];
  close(): Promise<void>;
}

export async function startCountingProxy(endpoint: string): Promise<CountingProxy> {
  const target = new URL(endpoint);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const calls: number[] = [];
  const server = http.createServer((req, res) => {
    calls.push(Date.now());
    const up = http.request({ hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers, agent }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${target.pathname}`,
    calls,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      agent.destroy();
    },
  };
}

/** The most calls within any one-second window (`times` in ascending order, ms). */
export function peakPerSecond(times: readonly number[]): number {
  let peak = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (j < times.length && (times[j] as number) - (times[i] as number) < 1000) j++;
    peak = Math.max(peak, j - i);
  }
  return peak;
}
