import type { CallContext } from '../call-context.ts';
import type { CustomerMasterPort } from '../customer-master.port.ts';
import { ConflictError, NotFoundError, isGatewayErrorLike } from '../errors/index.ts';
import type { Customer, Merchant, TmoMerchant } from '../model.ts';
import type { TerminalManagementPort } from '../terminal-management.port.ts';
import type { MerchantLinks } from './lru.ts';
import { toPageResult } from './paging.ts';
import type { MerchantPatch, MerchantService, NewMerchant, OnboardingProgress, Resume } from './types.ts';

/** The external-reference system name under which CRM keeps the TMO merchant id. */
export const TMO_REF_SYSTEM = 'TMO';

/** Merges the CRM customer and (when known) the TMO merchant into the API's merchant. */
export function toMerchant(c: Customer, t: TmoMerchant | null): Merchant {
  return {
    id: c.id,
    legalName: c.name,
    vatNumber: c.vatNumber,
    taxCode: c.taxCode,
    segment: c.segment === 'corporate' ? 'corporate' : 'retail',
    mcc: t?.mcc ?? null,
    email: c.email,
    phone: c.phone,
    address: c.address,
    ibanMasked: c.ibanMasked,
    partnerId: c.partnerId,
    tmoMerchantId: c.tmoMerchantId ?? t?.tmoMerchantId ?? null,
    status: t?.status ?? (c.tmoMerchantId ? null : 'pending'),
    createdAt: c.createdAt,
  };
}

/** CRM's "no such customer" means, to a merchant caller, "no such merchant". */
export async function asNotFound<T>(code: 'merchant.not_found' | 'partner.not_found', id: string, read: Promise<T>): Promise<T> {
  try {
    return await read;
  } catch (err) {
    if (isGatewayErrorLike(err) && err.kind === 'not_found') {
      throw new NotFoundError(code, `No ${code.split('.')[0]} ${id}`, { cause: err });
    }
    throw err;
  }
}

function assertMerchant(c: Customer): void {
  if (c.segment === 'partner') throw new NotFoundError('merchant.not_found', `No merchant ${c.id}`);
}

export interface MerchantServiceDeps {
  crm: CustomerMasterPort;
  tmo: TerminalManagementPort;
  links: MerchantLinks;
}

/** Merchant use cases: onboarding across CRM and TMO, reads merged from both. */
export function createMerchantService({ crm, tmo, links }: MerchantServiceDeps): MerchantService {
  async function readCustomer(id: string, ctx: CallContext): Promise<Customer> {
    const c = await asNotFound('merchant.not_found', id, crm.getCustomer(id, ctx));
    if (c.tmoMerchantId) links.remember(c.id, c.tmoMerchantId);
    return c;
  }

  async function get(id: string, ctx: CallContext): Promise<Merchant> {
    const knownMid = links.tmoMerchantIdOf(id);
    if (knownMid) {
      // Both reads in parallel when the link is known (it never changes).
      const [c, t] = await Promise.all([readCustomer(id, ctx), tmo.getMerchant(knownMid, ctx)]);
      assertMerchant(c);
      return toMerchant(c, t);
    }
    const c = await readCustomer(id, ctx);
    assertMerchant(c);
    const t = c.tmoMerchantId ? await tmo.getMerchant(c.tmoMerchantId, ctx) : null;
    return toMerchant(c, t);
  }

  return {
    async onboard(input: NewMerchant, ctx: CallContext, resume?: Resume<OnboardingProgress>) {
      const progress: OnboardingProgress = { ...(resume?.progress ?? {}) };
      const save = async () => {
        await resume?.onProgress({ ...progress });
      };

      // Step 1: the customer in CRM (a duplicate VAT number answers the existing id).
      let customer: Customer | undefined;
      if (!progress.customerId) {
        const r = await crm.createCustomer(
          {
            name: input.legalName,
            vatNumber: input.vatNumber,
            taxCode: input.taxCode,
            segment: input.segment,
            email: input.email,
            phone: input.phone,
            address: input.address,
            iban: input.iban,
            partnerId: input.partnerId,
          },
          ctx,
        );
        if (!r.created) {
          customer = await readCustomer(r.id, ctx);
          if (customer.segment === 'partner') {
            throw new ConflictError(
              'merchant.vat_number_registered_as_partner',
              'This VAT number belongs to a partner, not a merchant',
              { fields: [{ field: 'vatNumber', reason: 'already registered as a partner' }] },
            );
          }
          // An earlier onboarding may already have linked the TMO merchant.
          if (customer.tmoMerchantId) {
            progress.tmoMerchantId = customer.tmoMerchantId;
            progress.tmoMerchantCreated = false;
            progress.linked = true;
          }
        }
        progress.customerId = r.id;
        progress.customerCreated = r.created;
        await save();
      }
      const customerId = progress.customerId;

      // Step 2: the merchant in TMO (E301 answers the existing MID).
      if (!progress.tmoMerchantId) {
        const r = await tmo.registerMerchant(
          { vatNumber: input.vatNumber, name: input.legalName, mcc: input.mcc, address: input.address, customerId },
          ctx,
        );
        progress.tmoMerchantId = r.tmoMerchantId;
        progress.tmoMerchantCreated = r.created;
        await save();
      }
      const mid = progress.tmoMerchantId;
      links.remember(customerId, mid);

      // Step 3: link CRM → TMO, unless the link is already there (AddExternalRef has no natural key).
      if (!progress.linked) {
        customer = await readCustomer(customerId, ctx);
        if (customer.tmoMerchantId !== mid) {
          await crm.addExternalRef(customerId, TMO_REF_SYSTEM, mid, ctx);
          customer = undefined;
        }
        progress.linked = true;
        await save();
      }

      const [c, t] = await Promise.all([
        customer && customer.tmoMerchantId === mid ? Promise.resolve(customer) : readCustomer(customerId, ctx),
        tmo.getMerchant(mid, ctx),
      ]);
      return {
        merchant: toMerchant(c, t),
        created: progress.customerCreated === true || progress.tmoMerchantCreated === true,
      };
    },

    get,

    async list(filter, page, ctx) {
      const r = await crm.searchCustomers(
        { partnerId: filter.partnerId, segment: filter.segment, page: page.page, pageSize: page.pageSize },
        ctx,
      );
      for (const c of r.items) if (c.tmoMerchantId) links.remember(c.id, c.tmoMerchantId);
      // Partners are customers too: without a segment filter CRM returns them, so they are dropped here.
      return toPageResult(
        r,
        (c) => ({ ...toMerchant(c, null), status: null }),
        (c) => c.segment !== 'partner',
      );
    },

    async update(id: string, patch: MerchantPatch, ctx: CallContext) {
      const before = await readCustomer(id, ctx);
      assertMerchant(before);
      const { legalName, ...rest } = patch;
      await crm.updateCustomer(id, { ...rest, ...(legalName === undefined ? {} : { name: legalName }) }, ctx);
      return get(id, ctx);
    },
  };
}
