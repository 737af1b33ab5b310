import type { MerchantTerminal } from '../types.ts';

/** An active terminal as the API sees it (tests of the snapshot reconciliation and the job layer). */
export const SAMPLE_MERCHANT_TERMINAL: Readonly<MerchantTerminal> = {
  id: 'T0000001',
  merchantId: 'C000000001',
  tmoMerchantId: '000000000000001',
  model: 'A920',
  serialNumber: 'SN1',
  status: 'active',
  contactless: true,
  currency: 'EUR',
  lastSeenAt: null,
};
