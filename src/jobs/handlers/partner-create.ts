import type { NoProgress, OperationHandler } from './types.ts';

/** CRM answers a duplicate VAT number with the existing id, so a resend cannot create a second partner. */
export const partnerCreate: OperationHandler<'partner.create', NoProgress> = {
  kind: 'partner.create',
  steps: [{ name: 'crm.createCustomer', system: 'crm', done: () => false }],
  async run(services, input, ctx) {
    const { partner, created } = await services.partners.create(input, ctx);
    return {
      created,
      body: partner,
      resource: { type: 'partner', id: partner.id },
    };
  },
};
