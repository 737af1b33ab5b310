import type { SimulatedCall } from '../types.ts';

export type CrmSegment = 'RET' | 'CORP' | 'PTN';
export const CRM_OPERATIONS = [
  'CreateCustomer',
  'GetCustomer',
  'UpdateCustomer',
  'SearchCustomers',
  'AddExternalRef',
] as const;
export type CrmOperation = (typeof CRM_OPERATIONS)[number];

export interface CrmExternalRef {
  readonly System: string;
  readonly Value: string;
}

/**
 * A customer as CRM stores it (legacy field names). `Iban` is MASKED here, exactly as
 * GetCustomer returns it; the clear IBAN is only reachable through `CrmState.clearIban()`.
 */
export interface CrmCustomerRecord {
  readonly CustId: string;
  readonly CustName: string;
  readonly VatNo: string;
  readonly FiscalCd: string;
  readonly Segment: CrmSegment;
  readonly Email: string;
  readonly Phone: string;
  readonly Street: string;
  readonly City: string;
  readonly PostCode: string;
  readonly Province: string;
  readonly Country: string;
  /** Masked (`IT***…1234`) or '' when none. */
  readonly Iban: string;
  readonly PartnerId: string;
  /** `DD/MM/YYYY`. */
  readonly CreatedOn: string;
  /** `DD/MM/YYYY` of the last UpdateCustomer, '' if never updated (not on the wire: GetCustomer has no such field). */
  readonly UpdatedOn: string;
  readonly ExternalRefs: readonly CrmExternalRef[];
}

/** The customer data fields (CreateCustomer's `Customer`), clear IBAN included. */
export interface CrmCustomerData {
  CustName: string;
  VatNo: string;
  FiscalCd: string;
  Segment: CrmSegment;
  Email: string;
  Phone: string;
  Street: string;
  City: string;
  PostCode: string;
  Province: string;
  Country: string;
  /** Clear IBAN or ''. */
  Iban: string;
  PartnerId: string;
}

/** Internal mutable customer (clear IBAN in memory only). */
export interface StoredCustomer extends CrmCustomerData {
  CustId: string;
  CreatedOn: string;
  UpdatedOn: string;
  ExternalRefs: CrmExternalRef[];
}

/** How Iban is masked: keep the country code and last 4, stars for the rest (same length), or always 14 stars. */
export type IbanMaskStyle = 'same-length' | 'fixed';

export function maskIban(iban: string, style: IbanMaskStyle): string {
  if (iban === '') return '';
  if (iban.length <= 6) return '*'.repeat(iban.length);
  const stars = style === 'fixed' ? 14 : iban.length - 6;
  return `${iban.slice(0, 2)}${'*'.repeat(stars)}${iban.slice(-4)}`;
}

/**
 * Read-only inspection of the CRM simulator (plus seeding for benches). Records are frozen
 * snapshots with the IBAN masked; nothing here prints a clear IBAN unless asked by name.
 */
export interface CrmState {
  /** All customers, in CustId order. */
  customers(): CrmCustomerRecord[];
  customer(custId: string): CrmCustomerRecord | undefined;
  /** Customers keyed by VatNo (CRM holds at most one per VAT number: a duplicate answers CRM-409). */
  customersByVat(): Map<string, CrmCustomerRecord>;
  /** The clear IBAN stored for a customer ('' if none, undefined if unknown). Never log it. */
  clearIban(custId: string): string | undefined;
  /** CreateCustomer calls processed for this VatNo (any outcome; auth failures and injected failures excluded). */
  createCalls(vatNo: string): number;
  /** UpdateCustomer calls processed for this CustId (any outcome; same exclusions). */
  updateCalls(custId: string): number;
  /** AddExternalRef calls processed for this CustId (any outcome; same exclusions). */
  addRefCalls(custId: string): number;
  /** SOAP calls per operation that reached the service (auth failures, injected failures and refusals included). */
  callCounts(): Record<CrmOperation, number>;
  /** The last 1,000 SOAP calls (operation, X-Request-Id, outcome). */
  recentCalls(): SimulatedCall[];
  /** Adds a customer directly (no SOAP, no validation); returns its CustId. */
  seedCustomer(data: Partial<CrmCustomerData> & Pick<CrmCustomerData, 'CustName' | 'VatNo'>): string;
  /** Counts only (nothing sensitive), as served at `GET /_sim/state/summary`. */
  summary(): CrmSummary;
  /** Forgets every customer, counter and journal entry (id sequence restarts). */
  reset(): void;
}

export interface CrmSummary {
  system: 'CRM';
  customers: number;
  customersBySegment: Record<CrmSegment, number>;
  externalRefs: number;
  calls: Record<CrmOperation, number>;
}

export class CrmStore implements CrmState {
  readonly byId = new Map<string, StoredCustomer>();
  readonly idByVat = new Map<string, string>();
  private readonly createByVat = new Map<string, number>();
  private readonly updateById = new Map<string, number>();
  private readonly refById = new Map<string, number>();
  calls: Record<CrmOperation, number> = zeroCalls();
  private seq = 0;

  constructor(
    private readonly today: () => string,
    private readonly journal: { list(): SimulatedCall[]; clear(): void },
    readonly maskStyle: IbanMaskStyle,
  ) {}

  nextId(): string {
    this.seq += 1;
    return `C${String(this.seq).padStart(9, '0')}`;
  }

  countCreate(vat: string): void {
    this.createByVat.set(vat, (this.createByVat.get(vat) ?? 0) + 1);
  }
  countUpdate(id: string): void {
    this.updateById.set(id, (this.updateById.get(id) ?? 0) + 1);
  }
  countRef(id: string): void {
    this.refById.set(id, (this.refById.get(id) ?? 0) + 1);
  }

  insert(data: CrmCustomerData): StoredCustomer {
    const c: StoredCustomer = { ...data, CustId: this.nextId(), CreatedOn: this.today(), UpdatedOn: '', ExternalRefs: [] };
    this.byId.set(c.CustId, c);
    this.idByVat.set(c.VatNo, c.CustId);
    return c;
  }

  /** The customer as it goes on the wire / to tests: IBAN masked, WSDL element order. */
  view(c: StoredCustomer): CrmCustomerRecord {
    return Object.freeze({
      CustId: c.CustId,
      CustName: c.CustName,
      VatNo: c.VatNo,
      FiscalCd: c.FiscalCd,
      Segment: c.Segment,
      Email: c.Email,
      Phone: c.Phone,
      Street: c.Street,
      City: c.City,
      PostCode: c.PostCode,
      Province: c.Province,
      Country: c.Country,
      Iban: maskIban(c.Iban, this.maskStyle),
      PartnerId: c.PartnerId,
      CreatedOn: c.CreatedOn,
      UpdatedOn: c.UpdatedOn,
      ExternalRefs: Object.freeze(c.ExternalRefs.map((r) => Object.freeze({ ...r }))),
    });
  }

  customers(): CrmCustomerRecord[] {
    return [...this.byId.values()].map((c) => this.view(c));
  }
  customer(custId: string): CrmCustomerRecord | undefined {
    const c = this.byId.get(custId);
    return c ? this.view(c) : undefined;
  }
  customersByVat(): Map<string, CrmCustomerRecord> {
    const out = new Map<string, CrmCustomerRecord>();
    for (const c of this.byId.values()) out.set(c.VatNo, this.view(c));
    return out;
  }
  clearIban(custId: string): string | undefined {
    return this.byId.get(custId)?.Iban;
  }
  createCalls(vatNo: string): number {
    return this.createByVat.get(vatNo) ?? 0;
  }
  updateCalls(custId: string): number {
    return this.updateById.get(custId) ?? 0;
  }
  addRefCalls(custId: string): number {
    return this.refById.get(custId) ?? 0;
  }
  callCounts(): Record<CrmOperation, number> {
    return { ...this.calls };
  }
  recentCalls(): SimulatedCall[] {
    return this.journal.list();
  }
  seedCustomer(data: Partial<CrmCustomerData> & Pick<CrmCustomerData, 'CustName' | 'VatNo'>): string {
    const existing = this.idByVat.get(data.VatNo);
    if (existing) throw new Error(`seedCustomer: VatNo already used by ${existing}`);
    return this.insert({
      FiscalCd: data.VatNo,
      Segment: 'RET',
      Email: '',
      Phone: '',
      Street: 'Via Roma 1',
      City: 'Milano',
      PostCode: '20100',
      Province: 'MI',
      Country: 'IT',
      Iban: '',
      PartnerId: '',
      ...data,
    }).CustId;
  }
  summary(): CrmSummary {
    const bySegment: Record<CrmSegment, number> = { RET: 0, CORP: 0, PTN: 0 };
    let refs = 0;
    for (const c of this.byId.values()) {
      bySegment[c.Segment] += 1;
      refs += c.ExternalRefs.length;
    }
    return { system: 'CRM', customers: this.byId.size, customersBySegment: bySegment, externalRefs: refs, calls: { ...this.calls } };
  }
  reset(): void {
    this.byId.clear();
    this.idByVat.clear();
    this.createByVat.clear();
    this.updateById.clear();
    this.refById.clear();
    this.calls = zeroCalls();
    this.seq = 0;
    this.journal.clear();
  }
}

function zeroCalls(): Record<CrmOperation, number> {
  return { CreateCustomer: 0, GetCustomer: 0, UpdateCustomer: 0, SearchCustomers: 0, AddExternalRef: 0 };
}
