/**
 * Runs the TMO and CRM simulators in their own process, so a benchmark measures the gateway
 * and the legacy back end on separate event loops (as in production), with no latency and no
 * faults. Seeds one merchant (in CRM and TMO, linked) with `TERMINALS` active terminals
 * (default 1) and prints one JSON line `{ tmoUrl, crmUrl, custId, mid, tid, terminalIds }`
 * once ready (`tid` = the first terminal); exits on SIGTERM or when stdin closes.
 *
 * Env: SIM_TMO_PORT, SIM_CRM_PORT (0 = free port), TERMINALS.
 */
import { startCrmSimulator, startTmoSimulator } from '../../src/simulators/index.ts';

const count = Math.max(1, Number(process.env.TERMINALS ?? 1));
const tmo = await startTmoSimulator({ port: Number(process.env.SIM_TMO_PORT ?? 0) });
const crm = await startCrmSimulator({ port: Number(process.env.SIM_CRM_PORT ?? 0) });

const custId = crm.state.seedCustomer({ CustName: 'Bench Caffè Srl', VatNo: '01234567890' });
const mid = tmo.state.seedMerchant({
  VAT_NO: '01234567890',
  MERCH_NAME: 'BENCH CAFFE SRL',
  MCC: '5812',
  ADDR_LINE: 'VIA ROMA 1',
  CITY: 'MILANO',
  ZIP: '20100',
  PROV: 'MI',
  COUNTRY: 'IT',
  CRM_REF: custId,
});
const terminalIds = Array.from({ length: count }, () => tmo.state.seedTerminal(mid, { MODEL: 'A920', CONTACTLESS: 'Y', STATUS: 'AC' }));
for (const tid of terminalIds) tmo.state.recordSeen(tid);

process.stdout.write(`${JSON.stringify({ tmoUrl: tmo.url, crmUrl: crm.url, custId, mid, tid: terminalIds[0], terminalIds })}\n`);

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
