import type { OnboardingProgress } from '../../domain/services/types.ts';
import type { OperationHandler } from './types.ts';

/**
 * Onboarding: CRM CreateCustomer → TMO RegisterMerchant → CRM AddExternalRef. The service
 * stores each finished step through `resume.onProgress`, so a retry never creates a second
 * customer or a second MID.
 */
export const merchantOnboard: OperationHandler<'merchant.onboard', OnboardingProgress> = {
  kind: 'merchant.onboard',
  steps: [
    { name: 'crm.createCustomer', system: 'crm', done: (p) => p.customerId !== undefined },
    { name: 'tmo.registerMerchant', system: 'tmo', done: (p) => p.tmoMerchantId !== undefined },
    { name: 'crm.addExternalRef', system: 'crm', done: (p) => p.linked === true },
    { name: 'tmo.getMerchant', system: 'tmo', done: () => false },
  ],
  async run(services, input, ctx, resume) {
    const { merchant, created } = await services.merchants.onboard(input, ctx, resume);
    return {
      created,
      body: merchant,
      resource: { type: 'merchant', id: merchant.id },
    };
  },
};
