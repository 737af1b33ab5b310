import type { CallContext } from '../call-context.ts';
import type { CustomerMasterPort } from '../customer-master.port.ts';
import { ConflictError, NotFoundError, isGatewayErrorLike } from '../errors/index.ts';
import type { Terminal } from '../model.ts';
import type { TerminalManagementPort } from '../terminal-management.port.ts';
import type { MerchantLinks } from './lru.ts';
import { asNotFound } from './merchant-service.ts';
import { toPageResult } from './paging.ts';
import type { MerchantTerminal, NewTerminalOrder, Resume, TerminalOrderProgress, TerminalService } from './types.ts';

const TMO_PAGE_MAX = 50;

export interface TerminalServiceDeps {
  crm: CustomerMasterPort;
  tmo: TerminalManagementPort;
  links: MerchantLinks;
}

/**
 * Errors after which the order request certainly did not apply: TMO answered with a refusal.
 * Everything else (timeouts, resets, system faults) is treated as ambiguous and reconciled
 * with ListTerminals before any resend: a duplicate terminal costs more than a lookup.
 */
function definitelyNotApplied(err: unknown): boolean {
  return isGatewayErrorLike(err) && ['validation', 'business', 'not_found', 'conflict'].includes(err.kind);
}

/** A TMO terminal as the API's terminal: with the merchant's customer id (null when unknown). */
export function toMerchantTerminal(t: Terminal, merchantId: string | null): MerchantTerminal {
  return {
    id: t.id,
    merchantId,
    tmoMerchantId: t.tmoMerchantId,
    model: t.model,
    serialNumber: t.serialNumber,
    status: t.status,
    contactless: t.contactless,
    currency: t.currency,
    lastSeenAt: t.lastSeenAt,
  };
}

/** Terminal use cases over TMO; merchant ids are resolved through the CRM ⇄ TMO link. */
export function createTerminalService({ crm, tmo, links }: TerminalServiceDeps): TerminalService {
  async function midOf(merchantId: string, ctx: CallContext): Promise<string> {
    const cached = links.tmoMerchantIdOf(merchantId);
    if (cached) return cached;
    const c = await asNotFound('merchant.not_found', merchantId, crm.getCustomer(merchantId, ctx));
    if (c.segment === 'partner') throw new NotFoundError('merchant.not_found', `No merchant ${merchantId}`);
    if (!c.tmoMerchantId) {
      throw new ConflictError('merchant.not_onboarded', 'The merchant is not registered with the terminal system yet');
    }
    links.remember(c.id, c.tmoMerchantId);
    return c.tmoMerchantId;
  }

  async function customerIdOf(mid: string, ctx: CallContext): Promise<string | null> {
    const cached = links.customerIdOf(mid);
    if (cached) return cached;
    const m = await tmo.getMerchant(mid, ctx);
    if (!m.customerId) return null;
    links.remember(m.customerId, mid);
    return m.customerId;
  }


  // Not `async`: with the merchant link cached (the usual case) the read is one TMO call and no
  // further await (issue 8). Synchronous throws still become rejections.
  function get(id: string, ctx: CallContext): Promise<MerchantTerminal> {
    let read: Promise<Terminal>;
    try {
      read = tmo.getTerminal(id, ctx);
    } catch (err) {
      return Promise.reject(err);
    }
    return read.then((t) => {
      const cached = links.customerIdOf(t.tmoMerchantId);
      return cached ? toMerchantTerminal(t, cached) : customerIdOf(t.tmoMerchantId, ctx).then((customerId) => toMerchantTerminal(t, customerId));
    });
  }

  async function allTerminals(mid: string, ctx: CallContext): Promise<Terminal[]> {
    const all: Terminal[] = [];
    for (let page = 1; ; page++) {
      const r = await tmo.listTerminals(mid, page, TMO_PAGE_MAX, ctx);
      all.push(...r.items);
      if (r.items.length === 0 || page * TMO_PAGE_MAX >= r.total) return all;
    }
  }

  return {
    async order(merchantId: string, order: NewTerminalOrder, ctx: CallContext, resume?: Resume<TerminalOrderProgress>) {
      const progress: TerminalOrderProgress = { ...(resume?.progress ?? {}) };
      const save = async () => {
        // claimedElsewhere is the job layer's, re-read on every run: not part of this order's progress
        const { claimedElsewhere: _claimed, ...own } = progress;
        await resume?.onProgress({ ...own, knownTerminalIds: [...(progress.knownTerminalIds ?? [])] });
      };
      if (!progress.tmoMerchantId) {
        progress.tmoMerchantId = await midOf(merchantId, ctx);
        await save();
      }
      const mid = progress.tmoMerchantId;

      if (!progress.terminalId && progress.sendAttempted) {
        // An earlier send has an unknown outcome: find out before sending again.
        const known = new Set([...(progress.knownTerminalIds ?? []), ...(progress.claimedElsewhere ?? [])]);
        const candidates = (await allTerminals(mid, ctx)).filter(
          (t) => !known.has(t.id) && t.model === order.model && t.contactless === order.contactless,
        );
        if (candidates.length === 1 && candidates[0]) {
          progress.terminalId = candidates[0].id;
          progress.sendAttempted = false;
          await save();
        } else if (candidates.length > 1) {
          throw new ConflictError(
            'terminal.order_unresolved',
            `An earlier order had an unknown outcome and ${candidates.length} new terminals of that model now exist; an operator must decide`,
          );
        } else {
          progress.sendAttempted = false;
          await save();
        }
      }

      if (!progress.terminalId) {
        progress.knownTerminalIds = (await allTerminals(mid, ctx)).map((t) => t.id);
        progress.sendAttempted = true;
        await save();
        try {
          const r = await tmo.orderTerminal(mid, order, ctx);
          progress.terminalId = r.terminalId;
        } catch (err) {
          if (definitelyNotApplied(err)) {
            progress.sendAttempted = false;
            await save();
          }
          throw err;
        }
        progress.sendAttempted = false;
        await save();
      }
      return toMerchantTerminal(await tmo.getTerminal(progress.terminalId, ctx), merchantId);
    },

    async listForMerchant(merchantId, page, ctx) {
      const mid = await midOf(merchantId, ctx);
      const r = await tmo.listTerminals(mid, page.page, Math.min(page.pageSize, TMO_PAGE_MAX), ctx);
      return toPageResult(r, (t) => toMerchantTerminal(t, merchantId));
    },

    get,

    async changeStatus(id, status, reason, ctx) {
      let changed: boolean;
      try {
        ({ changed } = await tmo.changeTerminalStatus(id, status, reason, ctx));
      } catch (err) {
        // TMO refuses a transition with its generic invalid-field code: tell the caller why in
        // terms of the terminal's state (decommissioned is final; a pending one is not shipped).
        if (isGatewayErrorLike(err) && (err.kind === 'validation' || err.kind === 'business')) {
          const current = await tmo.getTerminal(id, ctx);
          if (current.status === 'decommissioned') {
            throw new ConflictError('terminal.decommissioned', 'A decommissioned terminal cannot change status', {
              fields: [{ field: 'status', reason: 'the terminal is decommissioned, which is final' }],
            });
          }
          if (current.status === 'pending' && status !== 'decommissioned') {
            throw new ConflictError('terminal.not_shipped', 'The terminal has not been shipped yet; only decommissioning is possible', {
              fields: [{ field: 'status', reason: 'the terminal is still pending shipment' }],
            });
          }
        }
        throw err;
      }
      return { terminal: await get(id, ctx), changed };
    },
  };
}
