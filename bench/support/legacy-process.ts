/**
 * Runs the TMO and CRM simulators in their own process, so a benchmark measures the gateway
 * and the legacy back end on separate event loops (as in production). Prints one JSON line
 * `{ tmoUrl, crmUrl, tid, mid, custId }` on stdout once ready; exits on SIGTERM or stdin close.
 *
 * Env: SIM_TMO_PORT, SIM_CRM_PORT (0 = free port).
 */
import { startCrmSimulator, startTmoSimulator } from '../../src/simulators/index.ts';

const tmo = await startTmoSimulator({ port: Number(process.env.SIM_TMO_PORT ?? 0) });
const crm = await startCrmSimulator({ port: Number(process.env.SIM_CRM_PORT ?? 0) });

const mid = tmo.state.seedMerchant({
  VAT_NO: '01234567890',
  MERCH_NAME: 'BENCH CAFFE SRL',
  MCC: '5812',
  ADDR_LINE: 'VIA ROMA 1',
  CITY: 'MILANO',
  ZIP: '20100',
  PROV: 'MI',
  COUNTRY: 'IT',
  CRM_REF: 'C000000001',
});
const tid = tmo.state.seedTerminal(mid, { MODEL: 'A920', CONTACTLESS: 'Y', STATUS: 'AC' });
tmo.state.recordSeen(tid);

process.stdout.write(`${JSON.stringify({ tmoUrl: tmo.url, crmUrl: crm.url, tid, mid, custId: 'C000000001' })}\n`);

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
