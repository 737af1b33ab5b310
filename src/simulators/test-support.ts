/**
 * Helpers for the simulators' own tests (and handy for other suites): real node-soap clients
 * wired to a simulator, and a way to look at a rejected call without logging it whole.
 */
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
