import type { CallContext } from './call-context.ts';
import type { Customer, CustomerPatch, CustomerSearch, NewCustomer, Page } from './model.ts';

/**
 * Port to the customer master (CRM), in domain terms. Errors as for TerminalManagementPort.
 */
export interface CustomerMasterPort {
  /** Creates a customer; a duplicate VAT number returns the existing id with `created: false`. */
  createCustomer(customer: NewCustomer, ctx: CallContext): Promise<{ id: string; created: boolean }>;
  getCustomer(id: string, ctx: CallContext): Promise<Customer>;
  /** Returns the ISO date of the update. Only present fields change. */
  updateCustomer(id: string, patch: CustomerPatch, ctx: CallContext): Promise<{ updatedAt: string | null }>;
  /** `page` is 1-based; `pageSize` 1–100. */
  searchCustomers(search: CustomerSearch, ctx: CallContext): Promise<Page<Customer>>;
  /** Links an id in another system (e.g. system `TMO`, value the MID). */
  addExternalRef(id: string, system: string, value: string, ctx: CallContext): Promise<void>;
}
