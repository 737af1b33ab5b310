import type { CallContext } from '../call-context.ts';
import type {
  Address,
  LifecycleStatus,
  Merchant,
  MerchantSegment,
  Partner,
  StatusChangeReason,
  TargetTerminalStatus,
  TerminalModel,
  Currency,
} from '../model.ts';

/** Input to onboard a merchant. `iban` in clear: never log or queue it in clear. */
export interface NewMerchant {
  legalName: string;
  vatNumber: string;
  taxCode: string;
  segment: MerchantSegment;
  mcc: string;
  email: string | null;
  phone: string | null;
  address: Address;
  iban: string | null;
  partnerId: string | null;
}

export interface MerchantPatch {
  legalName?: string;
  email?: string;
  phone?: string;
  address?: Partial<Address>;
  iban?: string;
  partnerId?: string;
}

export interface NewPartner {
  name: string;
  vatNumber: string;
  taxCode: string;
  email: string | null;
  phone: string | null;
  address: Address;
}

/** A merchant as listed: CRM data only (mcc and status need one TMO call each, so they are null). */
export type MerchantSummary = Merchant;

/** A terminal as the API shows it. `merchantId` is the CRM id, `tmoMerchantId` the TMO one. */
export interface MerchantTerminal {
  id: string;
  merchantId: string | null;
  tmoMerchantId: string;
  model: TerminalModel;
  serialNumber: string | null;
  status: LifecycleStatus;
  contactless: boolean;
  currency: Currency;
  lastSeenAt: string | null;
}

export interface NewTerminalOrder {
  model: TerminalModel;
  contactless: boolean;
  currency: Currency;
  shippingAddress: Address;
}

/** Pagination the services take: 1-based page and a page size. Cursors are an API concern. */
export interface PageRequest {
  page: number;
  pageSize: number;
}

export interface PageResult<T> {
  items: T[];
  /** next 1-based page, or null when this was the last */
  nextPage: number | null;
  total: number;
}

/** Outcome of one onboarding step (the job layer stores these to resume without repeating). */
export interface OnboardingProgress {
  customerId?: string;
  customerCreated?: boolean;
  tmoMerchantId?: string;
  tmoMerchantCreated?: boolean;
  linked?: boolean;
}

/**
 * Progress of a terminal order, stored by the job layer. OrderTerminal has no natural key,
 * so before the first send the service records the merchant's existing terminal ids; after
 * an ambiguous outcome (timeout once the request was sent) it reconciles with ListTerminals
 * before ever sending again. When it cannot tell, it throws a non-retryable ConflictError
 * `terminal.order_unresolved` so an operator decides.
 */
export interface TerminalOrderProgress {
  tmoMerchantId?: string;
  /** terminal ids the merchant had before the first send */
  knownTerminalIds?: string[];
  /** set just before OrderTerminal is sent; cleared only by a definite outcome */
  sendAttempted?: boolean;
  terminalId?: string;
  /**
   * Terminal ids other orders of this merchant already own (given by the job layer before a
   * run): reconciliation never adopts one, even when an operator retries this order long after
   * its snapshot was taken and other orders have completed meanwhile.
   */
  claimedElsewhere?: string[];
}

/** Lets a caller (the job layer) persist progress and resume without repeating a step. */
export interface Resume<P> {
  progress: P;
  onProgress: (p: P) => Promise<void>;
}

export interface MerchantService {
  /**
   * CRM CreateCustomer → TMO RegisterMerchant → CRM AddExternalRef. A duplicate VAT number
   * reuses the existing record. `progress` (when given) is read and updated step by step so
   * a retry resumes where it stopped; `onProgress` is awaited after each step.
   */
  onboard(
    input: NewMerchant,
    ctx: CallContext,
    resume?: Resume<OnboardingProgress>,
  ): Promise<{ merchant: Merchant; created: boolean }>;
  get(id: string, ctx: CallContext): Promise<Merchant>;
  list(
    filter: { partnerId: string | null; segment: MerchantSegment | null },
    page: PageRequest,
    ctx: CallContext,
  ): Promise<PageResult<MerchantSummary>>;
  update(id: string, patch: MerchantPatch, ctx: CallContext): Promise<Merchant>;
}

export interface PartnerService {
  create(input: NewPartner, ctx: CallContext): Promise<{ partner: Partner; created: boolean }>;
  get(id: string, ctx: CallContext): Promise<Partner>;
  listMerchants(partnerId: string, page: PageRequest, ctx: CallContext): Promise<PageResult<MerchantSummary>>;
}

export interface TerminalService {
  order(
    merchantId: string,
    order: NewTerminalOrder,
    ctx: CallContext,
    resume?: Resume<TerminalOrderProgress>,
  ): Promise<MerchantTerminal>;
  listForMerchant(merchantId: string, page: PageRequest, ctx: CallContext): Promise<PageResult<MerchantTerminal>>;
  get(id: string, ctx: CallContext): Promise<MerchantTerminal>;
  changeStatus(
    id: string,
    status: TargetTerminalStatus,
    reason: StatusChangeReason,
    ctx: CallContext,
  ): Promise<{ terminal: MerchantTerminal; changed: boolean }>;
}

export interface Services {
  merchants: MerchantService;
  partners: PartnerService;
  terminals: TerminalService;
}
