/**
 * The clean domain model the REST API speaks. Nothing here knows a legacy field name,
 * code or date format: translators (src/translators) convert to and from the legacy shapes.
 *
 * Identifiers: a merchant or partner id is the customer master's id (`C` + 9 digits);
 * `tmoMerchantId` is the terminal system's merchant id (15 digits); a terminal id is
 * 8 characters [A-Z0-9]. They are opaque strings to API callers.
 */

export type MerchantSegment = 'retail' | 'corporate';
export type CustomerSegment = MerchantSegment | 'partner';
export type LifecycleStatus = 'pending' | 'active' | 'suspended' | 'decommissioned';
export type TerminalModel = 'A920' | 'P400' | 'S1F2';
export type Currency = 'EUR';
export type TargetTerminalStatus = 'active' | 'suspended' | 'decommissioned';
export type StatusChangeReason =
  | 'merchant_request'
  | 'suspected_fraud'
  | 'lost_or_stolen'
  | 'contract_ended'
  | 'other';

export const MERCHANT_SEGMENTS = ['retail', 'corporate'] as const satisfies readonly MerchantSegment[];
export const LIFECYCLE_STATUSES = ['pending', 'active', 'suspended', 'decommissioned'] as const satisfies readonly LifecycleStatus[];
export const TERMINAL_MODELS = ['A920', 'P400', 'S1F2'] as const satisfies readonly TerminalModel[];
export const TARGET_TERMINAL_STATUSES = ['active', 'suspended', 'decommissioned'] as const satisfies readonly TargetTerminalStatus[];
export const STATUS_CHANGE_REASONS = [
  'merchant_request',
  'suspected_fraud',
  'lost_or_stolen',
  'contract_ended',
  'other',
] as const satisfies readonly StatusChangeReason[];

/** Money in integer minor units (euro cents). */
export interface Money {
  amount: number;
  currency: Currency;
}

export interface Address {
  line1: string;
  city: string;
  postalCode: string;
  /** Two-letter province code (Italian `sigla`), e.g. `MI`. */
  province: string;
  /** ISO 3166-1 alpha-2, e.g. `IT`. */
  country: string;
}

/** A customer as the customer master (CRM) knows it, in clean terms. */
export interface Customer {
  id: string;
  name: string;
  vatNumber: string;
  taxCode: string;
  segment: CustomerSegment;
  email: string | null;
  phone: string | null;
  address: Address;
  /** Always masked (`IT**************1234`) or null: CRM never returns it in clear. */
  ibanMasked: string | null;
  partnerId: string | null;
  /** ISO date `YYYY-MM-DD`. */
  createdAt: string | null;
  /** TMO merchant id linked through CRM's external references, if any. */
  tmoMerchantId: string | null;
}

/** Data to create a customer. `iban` is in clear here and must never be logged or queued in clear. */
export interface NewCustomer {
  name: string;
  vatNumber: string;
  taxCode: string;
  segment: CustomerSegment;
  email: string | null;
  phone: string | null;
  address: Address;
  iban: string | null;
  partnerId: string | null;
}

/** Fields to change on a customer; absent = unchanged (CRM cannot clear a field). */
export interface CustomerPatch {
  name?: string;
  email?: string;
  phone?: string;
  address?: Partial<Address>;
  iban?: string;
  partnerId?: string;
}

export interface CustomerSearch {
  partnerId: string | null;
  segment: CustomerSegment | null;
  /** 1-based */
  page: number;
  pageSize: number;
}

/** The terminal system's view of a merchant. */
export interface TmoMerchant {
  tmoMerchantId: string;
  vatNumber: string;
  name: string;
  mcc: string;
  address: Address;
  /** CRM customer id the merchant was registered with. */
  customerId: string;
  status: LifecycleStatus;
  /** ISO date */
  registeredAt: string | null;
}

export interface MerchantRegistration {
  vatNumber: string;
  name: string;
  mcc: string;
  address: Address;
  customerId: string;
}

export interface TerminalOrder {
  model: TerminalModel;
  contactless: boolean;
  currency: Currency;
  shippingAddress: Omit<Address, 'country'> & { country?: string };
}

export interface Terminal {
  id: string;
  tmoMerchantId: string;
  model: TerminalModel;
  serialNumber: string | null;
  status: LifecycleStatus;
  contactless: boolean;
  currency: Currency;
  /** ISO 8601 instant, or null when never seen. */
  lastSeenAt: string | null;
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  pageSize: number;
}

/** The merchant the API shows: CRM and TMO merged. */
export interface Merchant {
  id: string;
  legalName: string;
  vatNumber: string;
  taxCode: string;
  segment: MerchantSegment;
  mcc: string | null;
  email: string | null;
  phone: string | null;
  address: Address;
  ibanMasked: string | null;
  partnerId: string | null;
  tmoMerchantId: string | null;
  status: LifecycleStatus | null;
  createdAt: string | null;
}

export interface Partner {
  id: string;
  name: string;
  vatNumber: string;
  taxCode: string;
  email: string | null;
  phone: string | null;
  address: Address;
  createdAt: string | null;
}
