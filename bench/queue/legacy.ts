/**
 * The legacy simulators for the queue bench, in their own process (their own event loop, as
 * in production), with no latency and no faults. Seeds one merchant with `TERMINALS` active
 * terminals and prints one JSON line `{ tmoUrl, crmUrl, terminalIds }` once ready; exits on
 * SIGTERM or when stdin closes.
 */
import { startCrmSimulator, startTmoSimulator } from '../../src/simulators/index.ts';

const count = Number(process.env.TERMINALS ?? 200);
const tmo = await startTmoSimulator();
const crm = await startCrmSimulator();
const custId = crm.state.seedCustomer({ CustName: 'QUEUE BENCH SRL', VatNo: '01234567890' });
const mid = tmo.state.seedMerchant({
  VAT_NO: '01234567890',
  MERCH_NAME: 'QUEUE BENCH SRL',
  MCC: '5812',
  ADDR_LINE: 'VIA ROMA 1',
  CITY: 'MILANO',
  ZIP: '20100',
  PROV: 'MI',
  COUNTRY: 'IT',
  CRM_REF: custId,
});
const terminalIds = Array.from({ length: count }, () => tmo.state.seedTerminal(mid, { MODEL: 'A920', CONTACTLESS: 'Y', STATUS: 'AC' }));
process.stdout.write(`${JSON.stringify({ tmoUrl: tmo.url, crmUrl: crm.url, terminalIds })}\n`);

let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  await Promise.allSettled([tmo.close(), crm.close()]);
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
process.stdin.on('close', () => void shutdown());
process.stdin.resume();
