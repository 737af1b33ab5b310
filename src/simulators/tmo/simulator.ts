import { createFaultEngine } from '../shared/faults.ts';
import { CallJournal, startSoapHost } from '../shared/host.ts';
import {
  ElementError,
  loadWsdl,
  loadWsdlDefinition,
  readElements,
  SoapFault,
  type CallCtx,
  type ResponseContent,
} from '../shared/soap.ts';
import { yyyymmdd } from '../shared/time.ts';
import type { RunningSimulator, SimulatorOptions } from '../types.ts';
import { TmoStore, type MutableTerminal, type TmoState, type TmoStatus, type TmoTerminalRecord } from './state.ts';

/** A running TMO simulator (endpoint `http://127.0.0.1:PORT/tmo`). */
export type TmoSimulator = RunningSimulator<TmoState>;

/** Options of startTmoSimulator. */
export interface TmoSimulatorOptions extends SimulatorOptions {
  /**
   * When set, a `PE` terminal counts as shipped (`AC`, LAST_SEEN = ordered + this) once this
   * many ms have passed since OrderTerminal. Default: never; call `state.activate(tid)`.
   */
  autoActivateAfterMs?: number;
}

export const TMO_WSDL = 'tmo/TerminalManagement.wsdl';
const TMO_NS = 'urn:legacy:tmo:v3';

/** MCCs TMO refuses with E102 (gambling and lotteries). */
export const TMO_DENIED_MCC: ReadonlySet<string> = new Set(['7800', '7801', '7802', '7995']);

export const TMO_MSG = {
  ok: 'OK',
  invalid: (field: string, detail?: string) => `INVALID FIELD ${field}${detail ? `: ${detail}` : ''}`,
  mccDenied: (mcc: string) => `MCC ${mcc} NOT ALLOWED`,
  midNotFound: 'MID NOT FOUND',
  tidNotFound: 'TID NOT FOUND',
  alreadyRegistered: (mid: string) => `MERCHANT ALREADY REGISTERED WITH MID ${mid}`,
  alreadyInStatus: (status: string) => `TERMINAL ALREADY IN STATUS ${status}`,
  busy: 'SYSTEM BUSY, TRY LATER',
} as const;

const WRITE_OPS: ReadonlySet<string> = new Set(['RegisterMerchant', 'OrderTerminal', 'ChangeTerminalStatus']);

/** Printable ASCII (0x20–0x7E) without lowercase letters. */
const TMO_TEXT = /^[\x20-\x60\x7B-\x7E]*$/;
const DIGITS = (n: number) => new RegExp(`^[0-9]{${n}}$`);
const RE = {
  vat: DIGITS(11),
  mcc: DIGITS(4),
  zip: DIGITS(5),
  mid: DIGITS(15),
  letters2: /^[A-Z]{2}$/,
  tid: /^[A-Z0-9]{8}$/,
  number: /^[0-9]{1,9}$/,
};
const MODELS = new Set(['A920', 'P400', 'S1F2']);
const TARGET_STATUSES = new Set(['AC', 'SU', 'DC']);
const REASON_CODES = new Set(['01', '02', '03', '04', '99']);

/** A business outcome (RETURN_CODE ≠ 00) that ends the operation. */
class Outcome {
  constructor(
    readonly code: string,
    readonly msg: string,
    readonly extra: Record<string, string> = {},
  ) {}
}

const invalid = (field: string, detail?: string) => new Outcome('E101', TMO_MSG.invalid(field, detail));

/** Every TMO string: printable ASCII, no lowercase. Then the field's own rule. */
function check(fields: Record<string, string>, name: string, ok: (v: string) => boolean): string {
  const v = fields[name] ?? '';
  if (!TMO_TEXT.test(v) || !ok(v)) throw invalid(name);
  return v;
}
const re = (r: RegExp) => (v: string) => r.test(v);
const text = (max: number) => (v: string) => v.length >= 1 && v.length <= max;
const oneOf = (s: ReadonlySet<string>) => (v: string) => s.has(v);

function terminalRec(t: TmoTerminalRecord | MutableTerminal): Record<string, string> {
  return {
    TID: t.TID,
    MID: t.MID,
    MODEL: t.MODEL,
    SERIAL_NO: t.SERIAL_NO,
    STATUS: t.STATUS,
    CONTACTLESS: t.CONTACTLESS,
    CURRENCY: t.CURRENCY,
    LAST_SEEN_DATE: t.LAST_SEEN_DATE,
    LAST_SEEN_TIME: t.LAST_SEEN_TIME,
  };
}

const REQUEST_FIELDS: Record<string, readonly string[]> = {
  RegisterMerchant: ['VAT_NO', 'MERCH_NAME', 'MCC', 'ADDR_LINE', 'CITY', 'ZIP', 'PROV', 'COUNTRY', 'CRM_REF'],
  GetMerchant: ['MID'],
  OrderTerminal: ['MID', 'MODEL', 'CONTACTLESS', 'CURRENCY', 'SHIP_ADDR_LINE', 'SHIP_CITY', 'SHIP_ZIP', 'SHIP_PROV'],
  GetTerminal: ['TID'],
  ListTerminals: ['MID', 'PAGE_NO', 'PAGE_SIZE'],
  ChangeTerminalStatus: ['TID', 'NEW_STATUS', 'REASON_CODE'],
};

/** The response body for a non-00 outcome, per operation (records omitted, ids ''). */
const FAILURE_SHAPE: Record<string, Record<string, unknown>> = {
  RegisterMerchant: { MID: '' },
  GetMerchant: {},
  OrderTerminal: { TID: '' },
  GetTerminal: {},
  ListTerminals: { TOTAL_RECORDS: '', TERMINALS: {} },
  ChangeTerminalStatus: { STATUS: '' },
};

function valFault(ctx: CallCtx, what: string): SoapFault {
  ctx.outcome = 'TMO-VAL';
  return new SoapFault('soap:Client', `TMO-VAL: ${what}`);
}

function sysFault(ctx: CallCtx): SoapFault {
  ctx.outcome = 'TMO-SYS';
  return new SoapFault('soap:Server', 'TMO-SYS: INTERNAL SYSTEM ERROR, RETRY LATER');
}

const ELEMENT_PROBLEM: Record<string, string> = {
  missing: 'MISSING ELEMENT',
  nil: 'XSI:NIL NOT ACCEPTED FOR ELEMENT',
  unexpected: 'UNEXPECTED ELEMENT',
  order: 'ELEMENT OUT OF SEQUENCE',
  structure: 'MALFORMED ELEMENT',
};

/**
 * Starts an in-process TMO (Terminal Management, SOAP 1.1) simulator implementing
 * CONTRACT.md §TMO over fixtures/tmo/TerminalManagement.wsdl. See README.md in this folder
 * for the decisions taken where the contract is silent.
 */
export async function startTmoSimulator(opts: TmoSimulatorOptions = {}): Promise<TmoSimulator> {
  const now = opts.now ?? Date.now;
  const seed = opts.seed ?? 1;
  const creds = opts.credentials ?? { username: 'gateway', password: 'gateway-dev-secret' };
  const expectedToken = Buffer.from(`${creds.username}:${creds.password}`, 'utf8').toString('base64');
  // RFC 7617: the scheme name is case-insensitive.
  const authorize = (h: string | undefined) =>
    h !== undefined && h.length > 6 && h.slice(0, 6).toLowerCase() === 'basic ' && h.slice(6).trim() === expectedToken;
  const faults = createFaultEngine(opts.faults, seed, now);
  const journal = new CallJournal();
  const timeZone = opts.timeZone ?? 'UTC';
  const store = new TmoStore(now, seed, journal, opts.autoActivateAfterMs, timeZone);

  /** Common prologue/epilogue: structure check, injected failure, outcome → response. */
  const op =
    (name: string, body: (f: Record<string, string>, ctx: CallCtx) => Record<string, unknown>) =>
    (args: unknown, _headers: unknown, ctx: CallCtx): ResponseContent => {
      const key = name as keyof TmoStore['calls'];
      store.calls[key] += 1;
      if (ctx.namespaceError !== null) throw valFault(ctx, `ELEMENT ${ctx.namespaceError} NOT IN NAMESPACE ${TMO_NS}`);
      let fields: Record<string, string>;
      try {
        fields = readElements(args, REQUEST_FIELDS[name] ?? []);
      } catch (e) {
        if (e instanceof ElementError) throw valFault(ctx, `${ELEMENT_PROBLEM[e.problem]} ${e.element}`);
        throw e;
      }
      if (ctx.injectFailure) {
        if (faults.coin()) throw sysFault(ctx);
        ctx.outcome = 'E901';
        return { RETURN_CODE: 'E901', RETURN_MSG: TMO_MSG.busy, ...FAILURE_SHAPE[name] } as ResponseContent;
      }
      try {
        const out = body(fields, ctx);
        ctx.outcome = '00';
        return { RETURN_CODE: '00', RETURN_MSG: TMO_MSG.ok, ...out } as ResponseContent;
      } catch (e) {
        if (!(e instanceof Outcome)) throw e;
        ctx.outcome = e.code;
        return { RETURN_CODE: e.code, RETURN_MSG: e.msg, ...FAILURE_SHAPE[name], ...e.extra } as ResponseContent;
      }
    };

  const operations = {
    RegisterMerchant: op('RegisterMerchant', (f) => {
      store.countRegister(f.VAT_NO ?? '');
      const rec = {
        VAT_NO: check(f, 'VAT_NO', re(RE.vat)),
        MERCH_NAME: check(f, 'MERCH_NAME', text(40)),
        MCC: check(f, 'MCC', re(RE.mcc)),
        ADDR_LINE: check(f, 'ADDR_LINE', text(40)),
        CITY: check(f, 'CITY', text(25)),
        ZIP: check(f, 'ZIP', re(RE.zip)),
        PROV: check(f, 'PROV', re(RE.letters2)),
        COUNTRY: check(f, 'COUNTRY', re(RE.letters2)),
        CRM_REF: check(f, 'CRM_REF', text(12)),
      };
      if (TMO_DENIED_MCC.has(rec.MCC)) throw new Outcome('E102', TMO_MSG.mccDenied(rec.MCC));
      const existing = store.midByVat.get(rec.VAT_NO);
      if (existing !== undefined) throw new Outcome('E301', TMO_MSG.alreadyRegistered(existing));
      const MID = store.nextMid();
      store.addMerchant({ ...rec, MID, STATUS: 'AC', REG_DATE: yyyymmdd(now(), timeZone) });
      return { MID };
    }),

    GetMerchant: op('GetMerchant', (f) => {
      const mid = check(f, 'MID', re(RE.mid));
      const m = store.merchantsByMid.get(mid);
      if (!m) throw new Outcome('E201', TMO_MSG.midNotFound);
      return { MERCHANT: { ...m } };
    }),

    OrderTerminal: op('OrderTerminal', (f) => {
      store.countOrder(f.MID ?? '');
      const mid = check(f, 'MID', re(RE.mid));
      const MODEL = check(f, 'MODEL', oneOf(MODELS));
      const CONTACTLESS = check(f, 'CONTACTLESS', (v) => v === 'Y' || v === 'N');
      const CURRENCY = check(f, 'CURRENCY', (v) => v === 'EUR');
      // Shipping address: all four empty (ship to the merchant's address) or all four valid.
      const shipGiven = ['SHIP_ADDR_LINE', 'SHIP_CITY', 'SHIP_ZIP', 'SHIP_PROV'].some((k) => (f[k] ?? '') !== '');
      const shipTo = shipGiven
        ? {
            SHIP_ADDR_LINE: check(f, 'SHIP_ADDR_LINE', text(40)),
            SHIP_CITY: check(f, 'SHIP_CITY', text(25)),
            SHIP_ZIP: check(f, 'SHIP_ZIP', re(RE.zip)),
            SHIP_PROV: check(f, 'SHIP_PROV', re(RE.letters2)),
          }
        : { SHIP_ADDR_LINE: '', SHIP_CITY: '', SHIP_ZIP: '', SHIP_PROV: '' };
      if (!store.merchantsByMid.has(mid)) throw new Outcome('E201', TMO_MSG.midNotFound);
      const TID = store.nextTid();
      store.addTerminal({
        TID,
        MID: mid,
        MODEL,
        SERIAL_NO: store.nextSerial(MODEL),
        STATUS: 'PE',
        CONTACTLESS,
        CURRENCY,
        LAST_SEEN_DATE: '',
        LAST_SEEN_TIME: '',
        shipTo,
        orderedAt: now(),
        history: [],
        SETTINGS: null,
      });
      return { TID };
    }),

    GetTerminal: op('GetTerminal', (f) => {
      const tid = check(f, 'TID', re(RE.tid));
      const t = store.liveTerminal(tid);
      if (!t) throw new Outcome('E202', TMO_MSG.tidNotFound);
      return { TERMINAL: terminalRec(t) };
    }),

    ListTerminals: op('ListTerminals', (f) => {
      const mid = check(f, 'MID', re(RE.mid));
      const pageNo = Number(check(f, 'PAGE_NO', (v) => RE.number.test(v) && Number(v) >= 1));
      const pageSize = Number(check(f, 'PAGE_SIZE', (v) => RE.number.test(v) && Number(v) >= 1 && Number(v) <= 50));
      if (!store.merchantsByMid.has(mid)) throw new Outcome('E201', TMO_MSG.midNotFound);
      const tids = store.tidsByMid.get(mid) ?? [];
      const page = tids.slice((pageNo - 1) * pageSize, pageNo * pageSize);
      const TERMINAL = page.map((tid) => store.liveTerminal(tid)).filter((t) => t !== undefined).map(terminalRec);
      return { TOTAL_RECORDS: String(tids.length), TERMINALS: TERMINAL.length > 0 ? { TERMINAL } : {} };
    }),

    ChangeTerminalStatus: op('ChangeTerminalStatus', (f) => {
      store.countChange(f.TID ?? '');
      const tid = check(f, 'TID', re(RE.tid));
      const to = check(f, 'NEW_STATUS', oneOf(TARGET_STATUSES)) as TmoStatus;
      const reason = check(f, 'REASON_CODE', oneOf(REASON_CODES));
      const t = store.liveTerminal(tid);
      if (!t) throw new Outcome('E202', TMO_MSG.tidNotFound);
      const current = { STATUS: t.STATUS };
      if (t.STATUS === to) throw new Outcome('E302', TMO_MSG.alreadyInStatus(to), current);
      if (t.STATUS === 'DC') {
        throw new Outcome('E101', TMO_MSG.invalid('NEW_STATUS', 'TERMINAL IS DECOMMISSIONED'), current);
      }
      if (t.STATUS === 'PE' && to !== 'DC') {
        throw new Outcome('E101', TMO_MSG.invalid('NEW_STATUS', 'TERMINAL NOT YET SHIPPED'), current);
      }
      store.changeStatus(t, to, reason, now());
      return { STATUS: t.STATUS };
    }),
  };

  const xml = await loadWsdl(TMO_WSDL);
  const wsdl = await loadWsdlDefinition(xml);
  const host = await startSoapHost({
    path: '/tmo',
    targetNamespace: TMO_NS,
    wsdlXml: xml,
    wsdl,
    handlers: operations,
    writeOperations: WRITE_OPS,
    faults,
    now,
    journal,
    authorize,
    malformed: (ctx, reason) =>
      valFault(
        ctx,
        reason === 'action' ? (ctx.operation === '' ? 'MISSING SOAPACTION' : 'UNKNOWN SOAPACTION') : 'MALFORMED REQUEST',
      ),
    systemFault: sysFault,
    summary: () => store.summary(),
    port: opts.port ?? 0,
    host: opts.host ?? '127.0.0.1',
  });
  return { url: host.url, faults: faults.controller, state: store, control: host.control, close: () => host.close() };
}
