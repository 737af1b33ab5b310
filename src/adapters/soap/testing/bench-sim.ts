// Starts a TMO simulator in its own process for bench-client.ts (so the simulator and the
// client do not share one event loop). Prints `<url> <tid>` and runs until killed.
import { startTmoSimulator } from '../../../simulators/index.ts';
import { DEV } from './options.ts';

const sim = await startTmoSimulator({ credentials: DEV });
const mid = sim.state.seedMerchant({
  VAT_NO: '12345678901', MERCH_NAME: 'BENCH', MCC: '5812', ADDR_LINE: 'A', CITY: 'B', ZIP: '20100', PROV: 'MI', COUNTRY: 'IT', CRM_REF: 'C000000001',
});
const tid = sim.state.seedTerminal(mid, { STATUS: 'AC' });
console.log(`${sim.url} ${tid}`);
