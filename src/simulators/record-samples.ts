/**
 * Regenerates fixtures/samples/{tmo,crm}/<case>/ from the simulators:
 *   npx tsx src/simulators/record-samples.ts
 * Each case folder holds request.xml (exactly as node-soap 1.13 sends it, WS-Security
 * timestamps normalised), response.xml (exactly as the simulator answers; empty for
 * 401/503) and case.json (operation, SOAPAction, HTTP status, request args, parsed result or
 * fault). Fixed clock (2024-03-05 13:04:05 UTC) and seed 1, so reruns are byte-identical.
 * The credentials are the documented dev defaults; the IBAN is the public example IBAN.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as soap from 'soap';
import { fixturePath, startCrmSimulator, startTmoSimulator } from './index.ts';
import { crmClient, failure, tmoClient } from './test-support.ts';

const NOW = Date.UTC(2024, 2, 5, 13, 4, 5);

interface Case {
  name: string;
  client: soap.Client;
  op: string;
  args: unknown;
  before?: () => void;
}

function normalise(xml: string): string {
  return xml
    .replace(/wsu:Id="SecurityToken-[^"]*"/g, 'wsu:Id="SecurityToken-2024-03-05T13:04:05Z"')
    .replace(/<wsu:Created>[^<]*<\/wsu:Created>/g, '<wsu:Created>2024-03-05T13:04:05Z</wsu:Created>');
}

async function record(system: 'tmo' | 'crm', c: Case): Promise<Record<string, unknown>> {
  c.before?.();
  const dir = join(fixturePath('samples'), system, c.name);
  await mkdir(dir, { recursive: true });
  const fn = (c.client as unknown as Record<string, (a: unknown) => Promise<[unknown]>>)[`${c.op}Async`];
  if (!fn) throw new Error(`no operation ${c.op}`);
  let status = 200;
  let outcome: Record<string, unknown>;
  try {
    const [result] = await fn.call(c.client, c.args);
    outcome = { result };
  } catch (e) {
    const f = await failure(Promise.reject(e));
    status = f.status ?? 0;
    outcome = f.fault ? { fault: f.fault } : { httpError: status };
  }
  const response = status === 401 || status === 503 ? '' : String(c.client.lastResponse ?? '');
  await writeFile(join(dir, 'request.xml'), normalise(String(c.client.lastRequest ?? '')));
  await writeFile(join(dir, 'response.xml'), response);
  await writeFile(
    join(dir, 'case.json'),
    `${JSON.stringify({ operation: c.op, soapAction: c.op, httpStatus: status, args: c.args, ...outcome }, null, 2)}\n`,
  );
  return outcome;
}

const REG = {
  VAT_NO: '12345678901',
  MERCH_NAME: 'CAFFE SOCIETA SRL',
  MCC: '5812',
  ADDR_LINE: 'VIA ROMA 1',
  CITY: 'MILANO',
  ZIP: '20100',
  PROV: 'MI',
  COUNTRY: 'IT',
  CRM_REF: 'C000000001',
};
const ORDER = { MID: '000000000000001', MODEL: 'A920', CONTACTLESS: 'Y', CURRENCY: 'EUR', SHIP_ADDR_LINE: '', SHIP_CITY: '', SHIP_ZIP: '', SHIP_PROV: '' };
const CUST = {
  CustName: 'Caffè Società Srl',
  VatNo: '12345678901',
  FiscalCd: '12345678901',
  Segment: 'RET',
  Email: 'info@caffe.it',
  Phone: '+39 02 1234567',
  Street: 'Via Roma 1',
  City: 'Milano',
  PostCode: '20100',
  Province: 'MI',
  Country: 'IT',
  Iban: 'IT60X0542811101000000123456',
  PartnerId: '',
};

async function main(): Promise<void> {
  await rm(join(fixturePath('samples'), 'tmo'), { recursive: true, force: true });
  await rm(join(fixturePath('samples'), 'crm'), { recursive: true, force: true });

  const tmo = await startTmoSimulator({ now: () => NOW, seed: 1 });
  const t = await tmoClient(tmo.url);
  const tBad = await tmoClient(tmo.url, { username: 'gateway', password: 'wrong' });
  let tid = '';
  const tmoCases: Case[] = [
    { name: 'register-merchant-ok', client: t, op: 'RegisterMerchant', args: REG },
    { name: 'register-merchant-e301-duplicate-vat', client: t, op: 'RegisterMerchant', args: REG },
    { name: 'register-merchant-e101-lowercase-name', client: t, op: 'RegisterMerchant', args: { ...REG, VAT_NO: '10987654321', MERCH_NAME: 'Caffe Societa Srl' } },
    { name: 'register-merchant-e102-mcc', client: t, op: 'RegisterMerchant', args: { ...REG, VAT_NO: '10987654321', MCC: '7995' } },
    { name: 'get-merchant-ok', client: t, op: 'GetMerchant', args: { MID: '000000000000001' } },
    { name: 'get-merchant-e201', client: t, op: 'GetMerchant', args: { MID: '000000000000999' } },
    { name: 'order-terminal-ok', client: t, op: 'OrderTerminal', args: ORDER },
    { name: 'order-terminal-e201', client: t, op: 'OrderTerminal', args: { ...ORDER, MID: '000000000000999' } },
  ];
  for (const c of tmoCases) await record('tmo', c);
  tid = tmo.state.terminals()[0]?.TID ?? '';
  const more: Case[] = [
    { name: 'get-terminal-pending', client: t, op: 'GetTerminal', args: { TID: tid } },
    { name: 'get-terminal-e202', client: t, op: 'GetTerminal', args: { TID: 'ZZZZ9999' } },
    { name: 'change-terminal-status-e101-not-shipped', client: t, op: 'ChangeTerminalStatus', args: { TID: tid, NEW_STATUS: 'AC', REASON_CODE: '01' } },
    { name: 'get-terminal-active', client: t, op: 'GetTerminal', args: { TID: tid }, before: () => tmo.state.activate(tid) },
    { name: 'list-terminals-ok', client: t, op: 'ListTerminals', args: { MID: '000000000000001', PAGE_NO: '1', PAGE_SIZE: '10' } },
    { name: 'list-terminals-empty-page', client: t, op: 'ListTerminals', args: { MID: '000000000000001', PAGE_NO: '2', PAGE_SIZE: '10' } },
    { name: 'change-terminal-status-ok', client: t, op: 'ChangeTerminalStatus', args: { TID: tid, NEW_STATUS: 'SU', REASON_CODE: '02' } },
    { name: 'change-terminal-status-e302', client: t, op: 'ChangeTerminalStatus', args: { TID: tid, NEW_STATUS: 'SU', REASON_CODE: '02' } },
    { name: 'change-terminal-status-decommission', client: t, op: 'ChangeTerminalStatus', args: { TID: tid, NEW_STATUS: 'DC', REASON_CODE: '04' } },
    { name: 'change-terminal-status-e101-decommissioned', client: t, op: 'ChangeTerminalStatus', args: { TID: tid, NEW_STATUS: 'AC', REASON_CODE: '01' } },
    { name: 'fault-tmo-val-missing-element', client: t, op: 'GetMerchant', args: {} },
    { name: 'fault-tmo-val-nil', client: t, op: 'GetMerchant', args: { MID: null } },
    { name: 'http-401-bad-credentials', client: tBad, op: 'GetMerchant', args: { MID: '000000000000001' } },
    { name: 'http-503-outage', client: t, op: 'GetMerchant', args: { MID: '000000000000001' }, before: () => tmo.faults.set({ outage: { from: 0, until: NOW + 1 } }) },
  ];
  for (const c of more) await record('tmo', c);
  // faultRate 1: TMO answers either a TMO-SYS fault or E901 (a seeded coin); record one of each.
  const sys = await startTmoSimulator({ now: () => NOW, seed: 1, faults: { faultRate: 1 } });
  const s = await tmoClient(sys.url);
  const args = { MID: '000000000000001' };
  while (!('fault' in (await record('tmo', { name: 'fault-tmo-sys', client: s, op: 'GetMerchant', args }))));
  while (!('result' in (await record('tmo', { name: 'return-e901-busy', client: s, op: 'GetMerchant', args }))));
  await sys.close();
  await tmo.close();

  const crm = await startCrmSimulator({ now: () => NOW, seed: 1 });
  const k = await crmClient(crm.url);
  const kBad = await crmClient(crm.url, { username: 'gateway', password: 'wrong' });
  const crmCases: Case[] = [
    { name: 'create-customer-ok', client: k, op: 'CreateCustomer', args: { Customer: CUST } },
    { name: 'create-customer-409-duplicate-vat', client: k, op: 'CreateCustomer', args: { Customer: CUST } },
    { name: 'create-customer-400-vat', client: k, op: 'CreateCustomer', args: { Customer: { ...CUST, VatNo: '123' } } },
    { name: 'create-customer-400-partner', client: k, op: 'CreateCustomer', args: { Customer: { ...CUST, VatNo: '10987654321', PartnerId: 'C000000099' } } },
    { name: 'add-external-ref-ok', client: k, op: 'AddExternalRef', args: { CustId: 'C000000001', System: 'TMO', Value: '000000000000001' } },
    { name: 'get-customer-ok', client: k, op: 'GetCustomer', args: { CustId: 'C000000001' } },
    { name: 'get-customer-404', client: k, op: 'GetCustomer', args: { CustId: 'C000000404' } },
    { name: 'update-customer-ok', client: k, op: 'UpdateCustomer', args: { CustId: 'C000000001', Customer: { City: 'Roma', Street: 'Via del Corso 10', PostCode: '00186', Province: 'RM' } } },
    { name: 'search-customers-ok', client: k, op: 'SearchCustomers', args: { PartnerId: '', Segment: 'RET', PageNo: 1, PageSize: 10 } },
    { name: 'search-customers-empty', client: k, op: 'SearchCustomers', args: { PartnerId: '', Segment: 'PTN', PageNo: 1, PageSize: 10 } },
    { name: 'search-customers-400-page-size', client: k, op: 'SearchCustomers', args: { PartnerId: '', Segment: '', PageNo: 1, PageSize: 101 } },
    { name: 'fault-crm-auth', client: kBad, op: 'GetCustomer', args: { CustId: 'C000000001' } },
    { name: 'fault-crm-500', client: k, op: 'GetCustomer', args: { CustId: 'C000000001' }, before: () => crm.faults.set({ faultRate: 1 }) },
    { name: 'http-503-outage', client: k, op: 'GetCustomer', args: { CustId: 'C000000001' }, before: () => crm.faults.set({ outage: { from: 0, until: NOW + 1 } }) },
  ];
  for (const c of crmCases) await record('crm', c);
  await crm.close();
}

await main();
