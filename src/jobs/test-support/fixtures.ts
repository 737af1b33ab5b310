import type { NewMerchant } from '../../domain/services/types.ts';

/** The job-layer tests' merchant address. */
export const address = { line1: 'Via Roma 1', city: 'Milano', postalCode: '20100', province: 'MI', country: 'IT' };

/** A merchant to onboard, without IBAN or contact (the job-layer tests' default). */
export const merchant = (vat = '12345678901'): NewMerchant => ({
  legalName: 'Caffè Società Srl',
  vatNumber: vat,
  taxCode: vat,
  segment: 'retail',
  mcc: '5812',
  email: null,
  phone: null,
  address,
  iban: null,
  partnerId: null,
});

/** A promise and its resolve (Promise.withResolvers is Node 22+). */
export function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
