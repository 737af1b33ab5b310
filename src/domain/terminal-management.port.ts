import type { CallContext } from './call-context.ts';
import type {
  LifecycleStatus,
  MerchantRegistration,
  Page,
  StatusChangeReason,
  TargetTerminalStatus,
  Terminal,
  TerminalOrder,
  TmoMerchant,
} from './model.ts';

/**
 * Port to the terminal management system (TMO), in domain terms.
 * Failures are GatewayErrors (src/domain/errors): NotFoundError for unknown merchant /
 * terminal, BusinessError for refusals, UnavailableError / TimeoutError for transport
 * and system failures, TranslationError when TMO breaks its own contract.
 */
export interface TerminalManagementPort {
  /** Registers a merchant; an already registered VAT number returns the existing id with `created: false`. */
  registerMerchant(reg: MerchantRegistration, ctx: CallContext): Promise<{ tmoMerchantId: string; created: boolean }>;
  getMerchant(tmoMerchantId: string, ctx: CallContext): Promise<TmoMerchant>;
  orderTerminal(tmoMerchantId: string, order: TerminalOrder, ctx: CallContext): Promise<{ terminalId: string }>;
  getTerminal(terminalId: string, ctx: CallContext): Promise<Terminal>;
  /** `page` is 1-based; `pageSize` 1–50. */
  listTerminals(tmoMerchantId: string, page: number, pageSize: number, ctx: CallContext): Promise<Page<Terminal>>;
  /** Already in that status answers `changed: false` (idempotent success). */
  changeTerminalStatus(
    terminalId: string,
    status: TargetTerminalStatus,
    reason: StatusChangeReason,
    ctx: CallContext,
  ): Promise<{ status: LifecycleStatus; changed: boolean }>;
}
