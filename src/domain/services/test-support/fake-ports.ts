import type { CallContext } from '../../call-context.ts';
import type { CustomerMasterPort } from '../../customer-master.port.ts';
import { NotFoundError, ValidationError } from '../../errors/index.ts';
import type { Customer, LifecycleStatus, Terminal, TmoMerchant } from '../../model.ts';
import type { TerminalManagementPort } from '../../terminal-management.port.ts';

/** In-memory ports with call counters and a failure hook, for service tests (no legacy rules beyond identity). */
export class FakeCrm implements CustomerMasterPort {
  customers = new Map<string, Customer>();
  calls: Record<string, number> = {};
  fail: ((op: string) => Error | undefined) | undefined;
  private seq = 0;

  private hit(op: string): void {
    this.calls[op] = (this.calls[op] ?? 0) + 1;
    const err = this.fail?.(op);
    if (err) throw err;
  }

  async createCustomer(c: Parameters<CustomerMasterPort['createCustomer']>[0], _ctx: CallContext) {
    this.hit('createCustomer');
    const existing = [...this.customers.values()].find((x) => x.vatNumber === c.vatNumber);
    if (existing) return { id: existing.id, created: false };
    const id = `C${String(++this.seq).padStart(9, '0')}`;
    this.customers.set(id, {
      id,
      name: c.name,
      vatNumber: c.vatNumber,
      taxCode: c.taxCode,
      segment: c.segment,
      email: c.email,
      phone: c.phone,
      address: c.address,
      ibanMasked: c.iban ? `${c.iban.slice(0, 2)}${'*'.repeat(c.iban.length - 6)}${c.iban.slice(-4)}` : null,
      partnerId: c.partnerId,
      createdAt: '2026-11-21',
      tmoMerchantId: null,
    });
    return { id, created: true };
  }

  async getCustomer(id: string, _ctx: CallContext) {
    this.hit('getCustomer');
    const c = this.customers.get(id);
    if (!c) throw new NotFoundError('customer.not_found', 'no such customer');
    return structuredClone(c);
  }

  async updateCustomer(id: string, patch: Parameters<CustomerMasterPort['updateCustomer']>[1], _ctx: CallContext) {
    this.hit('updateCustomer');
    const c = this.customers.get(id);
    if (!c) throw new NotFoundError('customer.not_found', 'no such customer');
    if (patch.name) c.name = patch.name;
    if (patch.email) c.email = patch.email;
    if (patch.address) c.address = { ...c.address, ...patch.address };
    return { updatedAt: '2026-11-21' };
  }

  async searchCustomers(s: Parameters<CustomerMasterPort['searchCustomers']>[0], _ctx: CallContext) {
    this.hit('searchCustomers');
    const all = [...this.customers.values()].filter(
      (c) => (!s.partnerId || c.partnerId === s.partnerId) && (!s.segment || c.segment === s.segment),
    );
    const start = (s.page - 1) * s.pageSize;
    return { items: all.slice(start, start + s.pageSize), total: all.length, page: s.page, pageSize: s.pageSize };
  }

  async addExternalRef(id: string, system: string, value: string, _ctx: CallContext) {
    this.hit('addExternalRef');
    const c = this.customers.get(id);
    if (!c) throw new NotFoundError('customer.not_found', 'no such customer');
    if (system === 'TMO') c.tmoMerchantId = value;
  }
}

export class FakeTmo implements TerminalManagementPort {
  merchants = new Map<string, TmoMerchant>();
  terminals = new Map<string, Terminal>();
  calls: Record<string, number> = {};
  fail: ((op: string) => Error | undefined) | undefined;
  /** runs after the work of an operation is done, before it answers (to fake ambiguous timeouts) */
  afterApply: ((op: string) => Error | undefined) | undefined;
  private mseq = 0;
  private tseq = 0;

  private hit(op: string): void {
    this.calls[op] = (this.calls[op] ?? 0) + 1;
    const err = this.fail?.(op);
    if (err) throw err;
  }

  private done(op: string): void {
    const err = this.afterApply?.(op);
    if (err) throw err;
  }

  async registerMerchant(reg: Parameters<TerminalManagementPort['registerMerchant']>[0], _ctx: CallContext) {
    this.hit('registerMerchant');
    const existing = [...this.merchants.values()].find((m) => m.vatNumber === reg.vatNumber);
    if (existing) return { tmoMerchantId: existing.tmoMerchantId, created: false };
    const tmoMerchantId = String(++this.mseq).padStart(15, '0');
    this.merchants.set(tmoMerchantId, {
      tmoMerchantId,
      vatNumber: reg.vatNumber,
      name: reg.name.toUpperCase(),
      mcc: reg.mcc,
      address: reg.address,
      customerId: reg.customerId,
      status: 'active',
      registeredAt: '2026-11-21',
    });
    this.done('registerMerchant');
    return { tmoMerchantId, created: true };
  }

  async getMerchant(mid: string, _ctx: CallContext) {
    this.hit('getMerchant');
    const m = this.merchants.get(mid);
    if (!m) throw new NotFoundError('merchant.not_found', 'no such merchant');
    return structuredClone(m);
  }

  async orderTerminal(mid: string, order: Parameters<TerminalManagementPort['orderTerminal']>[1], _ctx: CallContext) {
    this.hit('orderTerminal');
    if (!this.merchants.has(mid)) throw new NotFoundError('merchant.not_found', 'no such merchant');
    const id = `T${String(++this.tseq).padStart(7, '0')}`;
    this.terminals.set(id, {
      id,
      tmoMerchantId: mid,
      model: order.model,
      serialNumber: null,
      status: 'pending',
      contactless: order.contactless,
      currency: order.currency,
      lastSeenAt: null,
    });
    this.done('orderTerminal');
    return { terminalId: id };
  }

  async getTerminal(id: string, _ctx: CallContext) {
    this.hit('getTerminal');
    const t = this.terminals.get(id);
    if (!t) throw new NotFoundError('terminal.not_found', 'no such terminal');
    return structuredClone(t);
  }

  async listTerminals(mid: string, page: number, pageSize: number, _ctx: CallContext) {
    this.hit('listTerminals');
    const all = [...this.terminals.values()].filter((t) => t.tmoMerchantId === mid);
    const start = (page - 1) * pageSize;
    return { items: all.slice(start, start + pageSize), total: all.length, page, pageSize };
  }

  async changeTerminalStatus(
    id: string,
    status: Parameters<TerminalManagementPort['changeTerminalStatus']>[1],
    _reason: Parameters<TerminalManagementPort['changeTerminalStatus']>[2],
    _ctx: CallContext,
  ) {
    this.hit('changeTerminalStatus');
    const t = this.terminals.get(id);
    if (!t) throw new NotFoundError('terminal.not_found', 'no such terminal');
    if (t.status === 'decommissioned') throw new ValidationError('tmo.invalid_field', 'invalid field', { fields: [{ field: 'status', reason: 'invalid' }] });
    if (t.status === status) return { status: t.status as LifecycleStatus, changed: false };
    t.status = status;
    return { status, changed: true };
  }
}

export const ctx: CallContext = { requestId: 'test-request' };
