import type { CustomerMasterPort } from '../customer-master.port.ts';
import { ConflictError, NotFoundError } from '../errors/index.ts';
import type { Customer, Partner } from '../model.ts';
import { asNotFound, toMerchant } from './merchant-service.ts';
import { toPageResult } from './paging.ts';
import type { PartnerService } from './types.ts';

export function toPartner(c: Customer): Partner {
  return {
    id: c.id,
    name: c.name,
    vatNumber: c.vatNumber,
    taxCode: c.taxCode,
    email: c.email,
    phone: c.phone,
    address: c.address,
    createdAt: c.createdAt,
  };
}

function assertPartner(c: Customer): Customer {
  if (c.segment !== 'partner') throw new NotFoundError('partner.not_found', `No partner ${c.id}`);
  return c;
}

/** Partner use cases. Partners are CRM customers with the partner segment; TMO does not know them. */
export function createPartnerService({ crm }: { crm: CustomerMasterPort }): PartnerService {
  return {
    async create(input, ctx) {
      const r = await crm.createCustomer({ ...input, segment: 'partner', iban: null, partnerId: null }, ctx);
      const c = await crm.getCustomer(r.id, ctx);
      if (!r.created && c.segment !== 'partner') {
        throw new ConflictError('partner.vat_number_registered_as_merchant', 'This VAT number belongs to a merchant', {
          fields: [{ field: 'vatNumber', reason: 'already registered as a merchant' }],
        });
      }
      return { partner: toPartner(c), created: r.created };
    },

    async get(id, ctx) {
      return toPartner(assertPartner(await asNotFound('partner.not_found', id, crm.getCustomer(id, ctx))));
    },

    async listMerchants(partnerId, page, ctx) {
      const [partner, r] = await Promise.all([
        asNotFound('partner.not_found', partnerId, crm.getCustomer(partnerId, ctx)),
        crm.searchCustomers({ partnerId, segment: null, page: page.page, pageSize: page.pageSize }, ctx),
      ]);
      assertPartner(partner);
      return toPageResult(r, (c) => ({ ...toMerchant(c, null), status: null }), (c) => c.segment !== 'partner');
    },
  };
}
