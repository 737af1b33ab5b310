import type { NoProgress, OperationHandler } from './types.ts';

/** CRM UpdateCustomer with the same patch is idempotent, so a retry simply sends it again. */
export const merchantUpdate: OperationHandler<'merchant.update', NoProgress> = {
  kind: 'merchant.update',
  steps: [
    { name: 'crm.updateCustomer', system: 'crm', done: () => false },
  ],
  async run(services, input, ctx) {
    const merchant = await services.merchants.update(input.merchantId, input.patch, ctx);
    return {
      created: false,
      body: merchant,
      resource: { type: 'merchant', id: merchant.id },
    };
  },
};
