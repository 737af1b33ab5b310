/**
 * In-memory `Services` for route tests. Behaves like the real services in the ways the API
 * cares about (duplicate VAT → existing record, not found, paging) and lets a test make any
 * method throw with `failNext('merchants.get', err)`. Every call is recorded with its context.
 */
import type { CallContext } from '../../domain/call-context.ts';
import { NotFoundError } from '../../domain/errors/index.ts';
import type { Merchant, Partner } from '../../domain/model.ts';
import { maskIban } from '../../domain/iban.ts';
import type {
  MerchantPatch,
  MerchantTerminal,
  NewMerchant,
  NewPartner,
  NewTerminalOrder,
  PageRequest,
  PageResult,
  Services,
} from '../../domain/services/types.ts';

export type FakeMethod =
  | 'merchants.onboard' | 'merchants.get' | 'merchants.list' | 'merchants.update'
  | 'partners.create' | 'partners.get' | 'partners.listMerchants'
  | 'terminals.order' | 'terminals.listForMerchant' | 'terminals.get' | 'terminals.changeStatus';

export interface RecordedCall {
  method: FakeMethod;
  args: unknown[];
  ctx: CallContext;
}

function page<T>(all: T[], req: PageRequest): PageResult<T> {
  const start = (req.page - 1) * req.pageSize;
  const items = all.slice(start, start + req.pageSize);
  return { items, total: all.length, nextPage: start + req.pageSize < all.length ? req.page + 1 : null };
}

function mask(iban: string | null): string | null {
  return iban === null ? null : maskIban(iban);
}

export class FakeServices {
  readonly merchants = new Map<string, Merchant>();
  readonly partners = new Map<string, Partner>();
  readonly terminals = new Map<string, MerchantTerminal>();
  readonly calls: RecordedCall[] = [];
  private readonly failures = new Map<FakeMethod, unknown>();
  private seq = 0;
  private readonly today = '2025-01-15';

  /** The next call of `method` throws `err` (once). */
  failNext(method: FakeMethod, err: unknown): void {
    this.failures.set(method, err);
  }

  private enter(method: FakeMethod, ctx: CallContext, ...args: unknown[]): void {
    this.calls.push({ method, args, ctx });
    if (this.failures.has(method)) {
      const err = this.failures.get(method);
      this.failures.delete(method);
      throw err;
    }
  }

  private nextId(): string {
    this.seq += 1;
    return `C${String(100000000 + this.seq).padStart(9, '0')}`;
  }

  seedMerchant(overrides: Partial<Merchant> = {}): Merchant {
    const id = overrides.id ?? this.nextId();
    const m: Merchant = {
      id,
      legalName: 'Bar Sport Srl',
      vatNumber: `1${String(this.seq).padStart(10, '0')}`,
      taxCode: '01234567890',
      segment: 'retail',
      mcc: '5812',
      email: 'info@barsport.example',
      phone: '+39 02 1234567',
      address: { line1: 'Via Roma 1', city: 'Milano', postalCode: '20121', province: 'MI', country: 'IT' },
      ibanMasked: 'IT**************3456',
      partnerId: null,
      tmoMerchantId: `${String(this.seq).padStart(15, '0')}`,
      status: 'active',
      createdAt: this.today,
      ...overrides,
    };
    this.merchants.set(id, m);
    return m;
  }

  seedPartner(overrides: Partial<Partner> = {}): Partner {
    const id = overrides.id ?? this.nextId();
    const p: Partner = {
      id,
      name: 'Acquiring Partner Spa',
      vatNumber: `2${String(this.seq).padStart(10, '0')}`,
      taxCode: '09876543210',
      email: null,
      phone: null,
      address: { line1: 'Corso Italia 5', city: 'Torino', postalCode: '10121', province: 'TO', country: 'IT' },
      createdAt: this.today,
      ...overrides,
    };
    this.partners.set(id, p);
    return p;
  }

  seedTerminal(merchant: Merchant, overrides: Partial<MerchantTerminal> = {}): MerchantTerminal {
    this.seq += 1;
    const t: MerchantTerminal = {
      id: overrides.id ?? `T${String(this.seq).padStart(7, '0')}`,
      merchantId: merchant.id,
      tmoMerchantId: merchant.tmoMerchantId ?? '000000000000001',
      model: 'A920',
      serialNumber: null,
      status: 'pending',
      contactless: true,
      currency: 'EUR',
      lastSeenAt: null,
      ...overrides,
    };
    this.terminals.set(t.id, t);
    return t;
  }

  /** The `Services` view of this fake. */
  services(): Services {
    return {
      merchants: {
        onboard: async (input: NewMerchant, ctx: CallContext) => {
          this.enter('merchants.onboard', ctx, input);
          const existing = [...this.merchants.values()].find((m) => m.vatNumber === input.vatNumber);
          if (existing) return { merchant: existing, created: false };
          const merchant = this.seedMerchant({
            legalName: input.legalName,
            vatNumber: input.vatNumber,
            taxCode: input.taxCode,
            segment: input.segment,
            mcc: input.mcc,
            email: input.email,
            phone: input.phone,
            address: input.address,
            ibanMasked: mask(input.iban),
            partnerId: input.partnerId,
            status: 'pending',
          });
          return { merchant, created: true };
        },
        get: async (id: string, ctx: CallContext) => {
          this.enter('merchants.get', ctx, id);
          const m = this.merchants.get(id);
          if (!m) throw new NotFoundError('merchant.not_found', `No merchant ${id}`);
          return m;
        },
        list: async (filter, req, ctx) => {
          this.enter('merchants.list', ctx, filter, req);
          const all = [...this.merchants.values()].filter(
            (m) => (filter.partnerId === null || m.partnerId === filter.partnerId) && (filter.segment === null || m.segment === filter.segment),
          );
          const p = page(all, req);
          return { ...p, items: p.items.map((m) => ({ ...m, mcc: null, status: null })) };
        },
        update: async (id: string, patch: MerchantPatch, ctx: CallContext) => {
          this.enter('merchants.update', ctx, id, patch);
          const m = this.merchants.get(id);
          if (!m) throw new NotFoundError('merchant.not_found', `No merchant ${id}`);
          const { iban, address, ...rest } = patch;
          const next: Merchant = {
            ...m,
            ...rest,
            address: { ...m.address, ...address },
            ibanMasked: iban === undefined ? m.ibanMasked : mask(iban),
          };
          this.merchants.set(id, next);
          return next;
        },
      },
      partners: {
        create: async (input: NewPartner, ctx: CallContext) => {
          this.enter('partners.create', ctx, input);
          const existing = [...this.partners.values()].find((p) => p.vatNumber === input.vatNumber);
          if (existing) return { partner: existing, created: false };
          return { partner: this.seedPartner({ ...input }), created: true };
        },
        get: async (id: string, ctx: CallContext) => {
          this.enter('partners.get', ctx, id);
          const p = this.partners.get(id);
          if (!p) throw new NotFoundError('partner.not_found', `No partner ${id}`);
          return p;
        },
        listMerchants: async (partnerId: string, req: PageRequest, ctx: CallContext) => {
          this.enter('partners.listMerchants', ctx, partnerId, req);
          if (!this.partners.has(partnerId)) throw new NotFoundError('partner.not_found', `No partner ${partnerId}`);
          return page([...this.merchants.values()].filter((m) => m.partnerId === partnerId), req);
        },
      },
      terminals: {
        order: async (merchantId: string, order: NewTerminalOrder, ctx: CallContext) => {
          this.enter('terminals.order', ctx, merchantId, order);
          const m = this.merchants.get(merchantId);
          if (!m) throw new NotFoundError('merchant.not_found', `No merchant ${merchantId}`);
          return this.seedTerminal(m, { model: order.model, contactless: order.contactless, currency: order.currency });
        },
        listForMerchant: async (merchantId: string, req: PageRequest, ctx: CallContext) => {
          this.enter('terminals.listForMerchant', ctx, merchantId, req);
          if (!this.merchants.has(merchantId)) throw new NotFoundError('merchant.not_found', `No merchant ${merchantId}`);
          return page([...this.terminals.values()].filter((t) => t.merchantId === merchantId), req);
        },
        get: async (id: string, ctx: CallContext) => {
          this.enter('terminals.get', ctx, id);
          const t = this.terminals.get(id);
          if (!t) throw new NotFoundError('terminal.not_found', `No terminal ${id}`);
          return t;
        },
        changeStatus: async (id, status, reason, ctx) => {
          this.enter('terminals.changeStatus', ctx, id, status, reason);
          const t = this.terminals.get(id);
          if (!t) throw new NotFoundError('terminal.not_found', `No terminal ${id}`);
          const changed = t.status !== status;
          const next = { ...t, status };
          this.terminals.set(id, next);
          return { terminal: next, changed };
        },
      },
    };
  }

  /** Calls recorded for `method`. */
  callsOf(method: FakeMethod): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }
}
