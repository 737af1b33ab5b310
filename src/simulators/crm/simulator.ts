import { createFaultEngine } from '../shared/faults.ts';
import { CallJournal, startSoapHost } from '../shared/host.ts';
import {
  ElementError,
  escapeXml,
  loadWsdl,
  loadWsdlDefinition,
  readElements,
  SoapFault,
  type CallCtx,
  type ResponseContent,
} from '../shared/soap.ts';
import { ddmmyyyy } from '../shared/time.ts';
import type { RunningSimulator, SimulatorOptions } from '../types.ts';
import {
  CrmStore,
  type CrmOperation,
  type CrmCustomerData,
  type CrmSegment,
  type CrmState,
  type IbanMaskStyle,
  type StoredCustomer,
} from './state.ts';

/** A running CRM simulator (endpoint `http://127.0.0.1:PORT/crm`). */
export type CrmSimulator = RunningSimulator<CrmState>;

/** Options of startCrmSimulator. */
export interface CrmSimulatorOptions extends SimulatorOptions {
  /**
   * `fixed` (default): always 14 stars, the literal shape of CONTRACT.md's example
   * (`IT**************1234`): the documents win over convenience. `same-length`: country
   * code + stars + last 4, as long as the IBAN (`IT*********************1234`), the shape
   * another CRM implementation might use; the gateway must cope with both.
   */
  ibanMask?: IbanMaskStyle;
}

export const CRM_WSDL = 'crm/CustomerService.wsdl';
const NS = 'urn:legacy:crm:2009';

/** Exact CrmError texts. CRM-400 texts always start `Validation failed: <Field> `. */
export const CRM_TEXT = {
  auth: 'Authentication failed',
  invalid: (field: string, reason: string) => `Validation failed: ${field} ${reason}`,
  notFound: (custId: string) => `Customer ${custId} not found`,
  duplicateVat: (custId: string) => `Duplicate VatNo: already registered as customer ${custId}`,
  internal: 'Internal error, retry later',
} as const;

const WRITE_OPS: ReadonlySet<string> = new Set(['CreateCustomer', 'UpdateCustomer', 'AddExternalRef']);

const DATA_FIELDS = [
  'CustName',
  'VatNo',
  'FiscalCd',
  'Segment',
  'Email',
  'Phone',
  'Street',
  'City',
  'PostCode',
  'Province',
  'Country',
  'Iban',
  'PartnerId',
] as const;
type DataField = (typeof DATA_FIELDS)[number];
const ALL_DATA_OPTIONAL: ReadonlySet<string> = new Set(DATA_FIELDS);

const CUST_ID = /^C[0-9]{9}$/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const SEGMENTS: ReadonlySet<string> = new Set(['RET', 'CORP', 'PTN']);

function crmFault(ctx: CallCtx, code: string, text: string, faultcode: 'soap:Client' | 'soap:Server' = 'soap:Client') {
  ctx.outcome = code;
  return new SoapFault(
    faultcode,
    code,
    `<tns:CrmError xmlns:tns="${NS}"><tns:Code>${code}</tns:Code><tns:Text>${escapeXml(text)}</tns:Text></tns:CrmError>`,
  );
}
const bad = (ctx: CallCtx, field: string, reason: string) => crmFault(ctx, 'CRM-400', CRM_TEXT.invalid(field, reason));
const serverFault = (ctx: CallCtx) => crmFault(ctx, 'CRM-500', CRM_TEXT.internal, 'soap:Server');

const ELEMENT_REASON: Record<string, string> = {
  missing: 'is missing',
  nil: 'has no value (empty or xsi:nil)',
  unexpected: 'is not an expected element',
  order: 'is out of sequence',
  structure: 'is malformed',
};

function elements(ctx: CallCtx, args: unknown, fields: readonly string[], optional?: ReadonlySet<string>, container?: string) {
  try {
    return readElements(args, fields, optional, container);
  } catch (e) {
    if (e instanceof ElementError) throw bad(ctx, e.element, ELEMENT_REASON[e.problem] ?? 'is malformed');
    throw e;
  }
}

/** IBAN: 2 letters, 2 check digits, 11–30 alphanumerics, ISO 7064 mod 97 = 1. */
function validIban(iban: string): boolean {
  if (!/^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let rem = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const digits = code >= 65 ? String(code - 55) : ch;
    for (const d of digits) rem = (rem * 10 + (d.charCodeAt(0) - 48)) % 97;
  }
  return rem === 1;
}

type Rule = (v: string) => string | null; // reason or null when valid
const text =
  (max: number): Rule =>
  (v) =>
    v.length > max ? `must be at most ${max} characters` : CONTROL.test(v) ? 'contains control characters' : null;
const match =
  (r: RegExp, reason: string): Rule =>
  (v) =>
    r.test(v) ? null : reason;

/** Field rules, applied to non-empty values; REQUIRED fields must be non-empty on CreateCustomer. */
const RULES: Record<DataField, Rule> = {
  CustName: text(100),
  VatNo: match(/^[0-9]{11}$/, 'must be 11 digits'),
  FiscalCd: match(/^([A-Za-z0-9]{16}|[0-9]{11})$/, 'must be 16 alphanumerics or 11 digits'),
  Segment: (v) => (SEGMENTS.has(v) ? null : 'must be RET, CORP or PTN'),
  Email: (v) => text(100)(v) ?? (/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v) ? null : 'is not an e-mail address'),
  Phone: match(/^\+?[0-9][0-9 ]{5,19}$/, 'must be 6-20 digits, optional leading +'),
  Street: text(100),
  City: text(60),
  PostCode: match(/^[A-Za-z0-9 -]{3,10}$/, 'must be 3-10 letters, digits, spaces or dashes'),
  Province: match(/^[A-Za-z]{2}$/, 'must be 2 letters'),
  Country: match(/^[A-Z]{2}$/, 'must be an ISO 3166 alpha-2 code'),
  Iban: (v) => (validIban(v) ? null : 'is not a valid IBAN'),
  PartnerId: match(CUST_ID, 'must be C followed by 9 digits'),
};
const REQUIRED: ReadonlySet<DataField> = new Set(['CustName', 'VatNo', 'FiscalCd', 'Segment', 'Street', 'City', 'PostCode', 'Country']);

/**
 * Starts an in-process CRM (Customer Service, SOAP 1.1) simulator implementing
 * CONTRACT.md §CRM over fixtures/crm/CustomerService.wsdl. See README.md in this folder for
 * the decisions taken where the contract is silent.
 */
export async function startCrmSimulator(opts: CrmSimulatorOptions = {}): Promise<CrmSimulator> {
  const now = opts.now ?? Date.now;
  const seed = opts.seed ?? 1;
  const creds = opts.credentials ?? { username: 'gateway', password: 'gateway-dev-secret' };
  const faults = createFaultEngine(opts.faults, seed, now);
  const journal = new CallJournal();
  const timeZone = opts.timeZone ?? 'UTC';
  const store = new CrmStore(() => ddmmyyyy(now(), timeZone), journal, opts.ibanMask ?? 'fixed');

  function authenticate(soapHeaders: unknown, ctx: CallCtx): void {
    const token = (soapHeaders as { Security?: { UsernameToken?: { Username?: unknown; Password?: unknown } } } | null)
      ?.Security?.UsernameToken;
    const pw = token?.Password;
    let password: unknown = pw;
    if (pw !== null && typeof pw === 'object') {
      const p = pw as { attributes?: { Type?: unknown }; $value?: unknown };
      const type = p.attributes?.Type;
      if (type !== undefined && (typeof type !== 'string' || !type.endsWith('#PasswordText'))) {
        throw crmFault(ctx, 'CRM-AUTH', CRM_TEXT.auth); // PasswordDigest (or anything else) is refused
      }
      password = p.$value;
    }
    if (!ctx.wsseSecurity || token?.Username !== creds.username || password !== creds.password) {
      throw crmFault(ctx, 'CRM-AUTH', CRM_TEXT.auth);
    }
  }

  /** Validates the data fields given (non-empty ones; REQUIRED ones too when creating). */
  function checkData(ctx: CallCtx, d: Record<string, string>, creating: boolean, self?: string): void {
    for (const f of DATA_FIELDS) {
      const v = d[f] ?? '';
      if (v === '') {
        if (creating && REQUIRED.has(f)) throw bad(ctx, f, 'is required');
        continue;
      }
      const reason = RULES[f](f === 'Iban' ? v.toUpperCase() : v);
      if (reason) throw bad(ctx, f, reason);
    }
    const partner = d.PartnerId ?? '';
    if (partner !== '') {
      const p = store.byId.get(partner);
      if (!p || p.Segment !== 'PTN' || partner === self) {
        throw bad(ctx, 'PartnerId', 'must reference an existing partner (Segment PTN)');
      }
    }
  }

  function wireCustomer(c: StoredCustomer): Record<string, unknown> {
    const v = store.view(c);
    return {
      CustId: v.CustId,
      CustName: v.CustName,
      VatNo: v.VatNo,
      FiscalCd: v.FiscalCd,
      Segment: v.Segment,
      Email: v.Email,
      Phone: v.Phone,
      Street: v.Street,
      City: v.City,
      PostCode: v.PostCode,
      Province: v.Province,
      Country: v.Country,
      Iban: v.Iban,
      PartnerId: v.PartnerId,
      CreatedOn: v.CreatedOn,
      ExternalRefs: v.ExternalRefs.length > 0 ? { Ref: v.ExternalRefs.map((r) => ({ System: r.System, Value: r.Value })) } : {},
    };
  }

  function existing(ctx: CallCtx, custId: string): StoredCustomer {
    if (!CUST_ID.test(custId)) throw bad(ctx, 'CustId', 'must be C followed by 9 digits');
    const c = store.byId.get(custId);
    if (!c) throw crmFault(ctx, 'CRM-404', CRM_TEXT.notFound(custId));
    return c;
  }

  /** Prologue shared by every operation: auth, request structure, injected failure. */
  const op =
    (
      name: CrmOperation,
      read: (args: unknown, ctx: CallCtx) => Record<string, unknown>,
      body: (req: Record<string, unknown>, ctx: CallCtx) => Record<string, unknown>,
    ) =>
    (args: unknown, soapHeaders: unknown, ctx: CallCtx): ResponseContent => {
      store.calls[name] += 1;
      authenticate(soapHeaders, ctx);
      if (ctx.namespaceError !== null) throw bad(ctx, ctx.namespaceError, `is not in namespace ${NS}`);
      const req = read(args, ctx);
      if (ctx.injectFailure) throw serverFault(ctx);
      const out = body(req, ctx);
      ctx.outcome = 'OK';
      return out as ResponseContent;
    };

  /** Reads `Customer` (CustomerData: every child optional) under a parent that has `before` elements first. */
  const withCustomer = (before: readonly string[]) => (args: unknown, ctx: CallCtx) => {
    const outer = elements(ctx, stripCustomer(args), before, undefined);
    const rawCustomer = (args as Record<string, unknown> | null)?.Customer;
    if (rawCustomer === undefined) throw bad(ctx, 'Customer', ELEMENT_REASON.missing ?? '');
    if (args !== null && typeof args === 'object' && Object.keys(args).filter((k) => k !== 'attributes').at(-1) !== 'Customer') {
      throw bad(ctx, 'Customer', ELEMENT_REASON.order ?? '');
    }
    const data = elements(ctx, rawCustomer, DATA_FIELDS, ALL_DATA_OPTIONAL, 'Customer');
    return { ...outer, Customer: data };
  };

  const operations = {
    CreateCustomer: op('CreateCustomer', withCustomer([]), (req, ctx) => {
      const d = req.Customer as Record<string, string>;
      store.countCreate(d.VatNo ?? '');
      checkData(ctx, d, true);
      const dup = store.idByVat.get(d.VatNo ?? '');
      if (dup) throw crmFault(ctx, 'CRM-409', CRM_TEXT.duplicateVat(dup));
      const data = {} as Record<DataField, string>;
      for (const f of DATA_FIELDS) data[f] = d[f] ?? '';
      data.Iban = data.Iban.toUpperCase();
      const c = store.insert(data as CrmCustomerData);
      return { CustId: c.CustId };
    }),

    GetCustomer: op(
      'GetCustomer',
      (args, ctx) => elements(ctx, args, ['CustId']),
      (req, ctx) => ({ Customer: wireCustomer(existing(ctx, String(req.CustId))) }),
    ),

    UpdateCustomer: op('UpdateCustomer', withCustomer(['CustId']), (req, ctx) => {
      const custId = String(req.CustId);
      store.countUpdate(custId);
      const c = existing(ctx, custId);
      const d = req.Customer as Record<string, string>;
      checkData(ctx, d, false, custId);
      const vat = d.VatNo ?? '';
      const dup = vat === '' ? undefined : store.idByVat.get(vat);
      if (dup !== undefined && dup !== custId) throw crmFault(ctx, 'CRM-409', CRM_TEXT.duplicateVat(dup));
      if (vat !== '' && vat !== c.VatNo) {
        store.idByVat.delete(c.VatNo);
        store.idByVat.set(vat, custId);
      }
      for (const f of DATA_FIELDS) {
        const v = d[f] ?? '';
        if (v === '') continue;
        if (f === 'Segment') c.Segment = v as CrmSegment;
        else if (f === 'Iban') c.Iban = v.toUpperCase();
        else c[f] = v;
      }
      c.UpdatedOn = ddmmyyyy(now(), timeZone);
      return { UpdatedOn: c.UpdatedOn };
    }),

    SearchCustomers: op(
      'SearchCustomers',
      (args, ctx) => elements(ctx, args, ['PartnerId', 'Segment', 'PageNo', 'PageSize'], new Set(['PartnerId', 'Segment'])),
      (req, ctx) => {
        const partnerId = String(req.PartnerId);
        const segment = String(req.Segment);
        const pageNoText = String(req.PageNo);
        const pageSizeText = String(req.PageSize);
        if (partnerId !== '' && !CUST_ID.test(partnerId)) throw bad(ctx, 'PartnerId', 'must be C followed by 9 digits');
        if (segment !== '' && !SEGMENTS.has(segment)) throw bad(ctx, 'Segment', 'must be RET, CORP or PTN');
        if (!/^[0-9]{1,9}$/.test(pageNoText) || Number(pageNoText) < 1) throw bad(ctx, 'PageNo', 'must be an integer >= 1');
        const pageSize = Number(pageSizeText);
        if (!/^[0-9]{1,3}$/.test(pageSizeText) || pageSize < 1 || pageSize > 100) {
          throw bad(ctx, 'PageSize', 'must be an integer from 1 to 100');
        }
        const pageNo = Number(pageNoText);
        const matches: StoredCustomer[] = [];
        for (const c of store.byId.values()) {
          if (partnerId !== '' && c.PartnerId !== partnerId) continue;
          if (segment !== '' && c.Segment !== segment) continue;
          matches.push(c);
        }
        const page = matches.slice((pageNo - 1) * pageSize, pageNo * pageSize).map(wireCustomer);
        return { TotalCount: matches.length, Customers: page.length > 0 ? { Customer: page } : {} };
      },
    ),

    AddExternalRef: op(
      'AddExternalRef',
      (args, ctx) => elements(ctx, args, ['CustId', 'System', 'Value']),
      (req, ctx) => {
        const custId = String(req.CustId);
        store.countRef(custId);
        const c = existing(ctx, custId);
        const system = String(req.System);
        const value = String(req.Value);
        if (system === '') throw bad(ctx, 'System', 'is required');
        const sysReason = text(20)(system);
        if (sysReason) throw bad(ctx, 'System', sysReason);
        if (value === '') throw bad(ctx, 'Value', 'is required');
        const valReason = text(50)(value);
        if (valReason) throw bad(ctx, 'Value', valReason);
        // Idempotent: the same (System, Value) pair again is OK and adds nothing.
        if (!c.ExternalRefs.some((r) => r.System === system && r.Value === value)) {
          c.ExternalRefs.push(Object.freeze({ System: system, Value: value }));
        }
        return { Result: 'OK' };
      },
    ),
  };

  const xml = await loadWsdl(CRM_WSDL);
  const wsdl = await loadWsdlDefinition(xml);
  const host = await startSoapHost({
    path: '/crm',
    targetNamespace: NS,
    wsdlXml: xml,
    wsdl,
    handlers: operations,
    writeOperations: WRITE_OPS,
    faults,
    now,
    journal,
    malformed: (ctx, reason) =>
      reason === 'action'
        ? bad(ctx, 'SOAPAction', 'is missing or unknown')
        : bad(ctx, 'Body', reason === 'xml' ? 'is not a well-formed request' : 'does not hold the SOAPAction operation element'),
    systemFault: serverFault,
    summary: () => store.summary(),
    port: opts.port ?? 0,
    host: opts.host ?? '127.0.0.1',
  });
  return { url: host.url, faults: faults.controller, state: store, control: host.control, close: () => host.close() };
}

/** The parent element without its `Customer` child (read separately, with its own rules). */
function stripCustomer(args: unknown): unknown {
  if (args === null || typeof args !== 'object' || Array.isArray(args)) return args;
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) if (k !== 'Customer') rest[k] = v;
  return rest;
}
