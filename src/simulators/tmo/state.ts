import { createRng } from '../shared/faults.ts';
import { hhmmss, yyyymmdd } from '../shared/time.ts';
import type { SimulatedCall } from '../types.ts';

export type TmoStatus = 'PE' | 'AC' | 'SU' | 'DC';
export const TMO_OPERATIONS = [
  'RegisterMerchant',
  'GetMerchant',
  'OrderTerminal',
  'GetTerminal',
  'ListTerminals',
  'ChangeTerminalStatus',
] as const;
export type TmoOperation = (typeof TMO_OPERATIONS)[number];

/** A merchant as TMO stores it (legacy field names, as on the wire). */
export interface TmoMerchantRecord {
  readonly MID: string;
  readonly VAT_NO: string;
  readonly MERCH_NAME: string;
  readonly MCC: string;
  readonly ADDR_LINE: string;
  readonly CITY: string;
  readonly ZIP: string;
  readonly PROV: string;
  readonly COUNTRY: string;
  readonly CRM_REF: string;
  /** Always `AC` in this simulator (no operation changes a merchant's status). */
  readonly STATUS: TmoStatus;
  readonly REG_DATE: string;
}

/** Shipping address given on OrderTerminal (all '' = ship to the merchant's address). */
export interface TmoShipTo {
  readonly SHIP_ADDR_LINE: string;
  readonly SHIP_CITY: string;
  readonly SHIP_ZIP: string;
  readonly SHIP_PROV: string;
}

/** A status change applied through ChangeTerminalStatus (or by shipping). */
export interface TmoStatusChange {
  readonly from: TmoStatus;
  readonly to: TmoStatus;
  /** REASON_CODE, or '' for TMO's own activation on shipping. */
  readonly reasonCode: string;
  readonly at: number;
}

/**
 * The settings TMO only takes by file (BATCH.md §1, one TPU detail): each accepted detail
 * replaces all of them. Values as in the file, receipt lines without their space padding.
 */
export interface TmoTerminalSettings {
  /** contactless limit in euro cents, 6 digits */
  readonly CTLS_LIMIT: string;
  readonly TIPPING: 'Y' | 'N';
  readonly CONTACTLESS: 'Y' | 'N';
  /** '' = cleared */
  readonly RECEIPT_LINE_1: string;
  readonly RECEIPT_LINE_2: string;
  readonly LANGUAGE: 'IT' | 'EN' | 'DE' | 'FR';
}

/** One TPU detail TMO applied to a terminal (the simulator's side of "reached TMO exactly once"). */
export interface TmoSettingsApplication {
  readonly tid: string;
  /** the TPU file name and the detail's record number */
  readonly file: string;
  readonly recordNo: number;
  readonly at: number;
  readonly settings: TmoTerminalSettings;
}

/** A terminal as TMO stores it (legacy field names) plus simulator metadata. */
export interface TmoTerminalRecord {
  readonly TID: string;
  readonly MID: string;
  readonly MODEL: string;
  readonly SERIAL_NO: string;
  readonly STATUS: TmoStatus;
  readonly CONTACTLESS: string;
  readonly CURRENCY: string;
  /** `YYYYMMDD`, '' until the terminal has been seen (activation counts as first contact). */
  readonly LAST_SEEN_DATE: string;
  /** `HHMMSS`, '' together with LAST_SEEN_DATE. */
  readonly LAST_SEEN_TIME: string;
  readonly shipTo: TmoShipTo;
  /** Epoch ms of the OrderTerminal call. */
  readonly orderedAt: number;
  readonly history: readonly TmoStatusChange[];
  /** The file-managed settings last applied from a TPU file; null while never set by file. */
  readonly SETTINGS: TmoTerminalSettings | null;
}

/** Input of `TmoState.seedMerchant` (bypasses SOAP and validation; for benches and test set-up). */
export type TmoMerchantSeed = Omit<TmoMerchantRecord, 'MID' | 'STATUS' | 'REG_DATE'> & { REG_DATE?: string };
/** Input of `TmoState.seedTerminal`. */
export interface TmoTerminalSeed {
  /** a fixed TID (8 chars `[A-Z0-9]`, unused); default: the next one from the seeded PRNG */
  TID?: string;
  MODEL?: string;
  CONTACTLESS?: string;
  STATUS?: TmoStatus;
}

/** Internal mutable terminal (the store's own copy). */
export interface MutableTerminal {
  TID: string;
  MID: string;
  MODEL: string;
  SERIAL_NO: string;
  STATUS: TmoStatus;
  CONTACTLESS: string;
  CURRENCY: string;
  LAST_SEEN_DATE: string;
  LAST_SEEN_TIME: string;
  shipTo: TmoShipTo;
  orderedAt: number;
  history: TmoStatusChange[];
  SETTINGS: TmoTerminalSettings | null;
}

/**
 * Read-only inspection (plus a few TMO-side actions such as shipping) of the TMO simulator.
 * Records returned are frozen snapshots; mutating the simulator goes through SOAP or the
 * explicit methods below.
 */
export interface TmoState {
  /** All merchants, in registration order. */
  merchants(): TmoMerchantRecord[];
  merchant(mid: string): TmoMerchantRecord | undefined;
  /** Merchants keyed by VAT_NO (TMO holds at most one per VAT number: a second registration answers E301). */
  merchantsByVat(): Map<string, TmoMerchantRecord>;
  /** All terminals, in order of OrderTerminal. */
  terminals(): TmoTerminalRecord[];
  terminal(tid: string): TmoTerminalRecord | undefined;
  /** Terminals grouped by MID, each list in order of OrderTerminal (a bench checks "ordered exactly once" here). */
  terminalsByMid(): Map<string, TmoTerminalRecord[]>;
  /** RegisterMerchant calls processed for this VAT_NO (any outcome; injected failures excluded). */
  registerCalls(vatNo: string): number;
  /** OrderTerminal calls processed for this MID (any outcome; injected failures excluded). */
  orderCalls(mid: string): number;
  /** ChangeTerminalStatus calls processed for this TID (any outcome; injected failures excluded). */
  statusChangeCalls(tid: string): number;
  /** SOAP calls per operation that passed HTTP auth (injected failures and refusals included). */
  callCounts(): Record<TmoOperation, number>;
  /** The last 1,000 SOAP calls (operation, X-Request-Id, outcome). */
  recentCalls(): SimulatedCall[];
  /**
   * TMO ships a pending terminal: `PE` → `AC`, LAST_SEEN set to now. Returns false when the
   * terminal is unknown or not `PE`.
   */
  activate(tid: string): boolean;
  /** Records a terminal heartbeat (sets LAST_SEEN_DATE/TIME); false when unknown. */
  recordSeen(tid: string, atMs?: number): boolean;
  /** Adds a merchant directly (no SOAP, no validation); returns its MID. */
  seedMerchant(seed: TmoMerchantSeed): string;
  /** Adds a terminal directly for an existing MID (no SOAP, no validation); returns its TID. */
  seedTerminal(mid: string, seed?: TmoTerminalSeed): string;
  /**
   * TMO applies one accepted TPU detail (BATCH.md §1): replaces the terminal's SETTINGS (and its
   * CONTACTLESS flag, the same setting) and journals the application. False when unknown.
   */
  applySettings(tid: string, settings: TmoTerminalSettings, origin: { file: string; recordNo: number }): boolean;
  /** Every TPU detail applied to this TID, oldest first. */
  settingsApplications(tid: string): TmoSettingsApplication[];
  /** TPU details applied to any terminal since start (or reset). */
  settingsApplicationCount(): number;
  /** Counts only (nothing sensitive), as served at `GET /_sim/state/summary`. */
  summary(): TmoSummary;
  /** Forgets every merchant, terminal, counter and journal entry (id sequences restart). */
  reset(): void;
}

export interface TmoSummary {
  system: 'TMO';
  merchants: number;
  terminals: number;
  terminalsByStatus: Record<TmoStatus, number>;
  calls: Record<TmoOperation, number>;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** The mutable store behind TmoState, used by the SOAP operations. */
export class TmoStore implements TmoState {
  readonly merchantsByMid = new Map<string, TmoMerchantRecord>();
  readonly midByVat = new Map<string, string>();
  readonly terminalsByTid = new Map<string, MutableTerminal>();
  readonly tidsByMid = new Map<string, string[]>();
  private readonly registerByVat = new Map<string, number>();
  private readonly orderByMid = new Map<string, number>();
  private readonly changeByTid = new Map<string, number>();
  private readonly settingsByTid = new Map<string, TmoSettingsApplication[]>();
  private settingsApplied = 0;
  calls: Record<TmoOperation, number> = zeroCalls();
  private midSeq = 0;
  private serialSeq = 0;
  private idRng: () => number = () => 0;

  constructor(
    private readonly now: () => number,
    private readonly seed: number,
    private readonly journal: { list(): SimulatedCall[]; clear(): void },
    /** PE terminals count as shipped (AC) this many ms after ordering; undefined = only via activate(). */
    private readonly autoActivateAfterMs: number | undefined,
    private readonly timeZone = 'UTC',
  ) {
    this.idRng = createRng(seed);
  }

  // ---- used by the operations ----

  nextMid(): string {
    this.midSeq += 1;
    return String(this.midSeq).padStart(15, '0');
  }

  nextTid(): string {
    for (;;) {
      let tid = '';
      for (let i = 0; i < 8; i++) tid += ID_ALPHABET[Math.floor(this.idRng() * ID_ALPHABET.length)] ?? 'A';
      if (!this.terminalsByTid.has(tid)) return tid;
    }
  }

  nextSerial(model: string): string {
    this.serialSeq += 1;
    return `${model}-${String(this.serialSeq).padStart(8, '0')}`;
  }

  countRegister(vat: string): void {
    this.registerByVat.set(vat, (this.registerByVat.get(vat) ?? 0) + 1);
  }
  countOrder(mid: string): void {
    this.orderByMid.set(mid, (this.orderByMid.get(mid) ?? 0) + 1);
  }
  countChange(tid: string): void {
    this.changeByTid.set(tid, (this.changeByTid.get(tid) ?? 0) + 1);
  }

  addMerchant(rec: TmoMerchantRecord): void {
    // WSDL order (MERCHANT_REC), so the record can go on the wire as is.
    const frozen: TmoMerchantRecord = Object.freeze({
      MID: rec.MID,
      VAT_NO: rec.VAT_NO,
      MERCH_NAME: rec.MERCH_NAME,
      MCC: rec.MCC,
      ADDR_LINE: rec.ADDR_LINE,
      CITY: rec.CITY,
      ZIP: rec.ZIP,
      PROV: rec.PROV,
      COUNTRY: rec.COUNTRY,
      CRM_REF: rec.CRM_REF,
      STATUS: rec.STATUS,
      REG_DATE: rec.REG_DATE,
    });
    this.merchantsByMid.set(rec.MID, frozen);
    this.midByVat.set(rec.VAT_NO, rec.MID);
  }

  addTerminal(t: MutableTerminal): void {
    this.terminalsByTid.set(t.TID, t);
    let list = this.tidsByMid.get(t.MID);
    if (!list) {
      list = [];
      this.tidsByMid.set(t.MID, list);
    }
    list.push(t.TID);
  }

  /** The live terminal, after applying a due automatic activation. */
  liveTerminal(tid: string): MutableTerminal | undefined {
    const t = this.terminalsByTid.get(tid);
    if (t) this.applyAutoActivation(t);
    return t;
  }

  changeStatus(t: MutableTerminal, to: TmoStatus, reasonCode: string, at: number): void {
    t.history.push(Object.freeze({ from: t.STATUS, to, reasonCode, at }));
    t.STATUS = to;
  }

  private applyAutoActivation(t: MutableTerminal): void {
    if (t.STATUS !== 'PE' || this.autoActivateAfterMs === undefined) return;
    const due = t.orderedAt + this.autoActivateAfterMs;
    if (this.now() >= due) this.ship(t, due);
  }

  private ship(t: MutableTerminal, at: number): void {
    this.changeStatus(t, 'AC', '', at);
    t.LAST_SEEN_DATE = yyyymmdd(at, this.timeZone);
    t.LAST_SEEN_TIME = hhmmss(at, this.timeZone);
  }

  // ---- TmoState ----

  merchants(): TmoMerchantRecord[] {
    return [...this.merchantsByMid.values()];
  }
  merchant(mid: string): TmoMerchantRecord | undefined {
    return this.merchantsByMid.get(mid);
  }
  merchantsByVat(): Map<string, TmoMerchantRecord> {
    const out = new Map<string, TmoMerchantRecord>();
    for (const m of this.merchantsByMid.values()) out.set(m.VAT_NO, m);
    return out;
  }
  terminals(): TmoTerminalRecord[] {
    return [...this.terminalsByTid.keys()].map((tid) => this.snapshot(tid)).filter((t) => t !== undefined);
  }
  terminal(tid: string): TmoTerminalRecord | undefined {
    return this.snapshot(tid);
  }
  terminalsByMid(): Map<string, TmoTerminalRecord[]> {
    const out = new Map<string, TmoTerminalRecord[]>();
    for (const [mid, tids] of this.tidsByMid) {
      out.set(
        mid,
        tids.map((tid) => this.snapshot(tid)).filter((t) => t !== undefined),
      );
    }
    return out;
  }
  registerCalls(vatNo: string): number {
    return this.registerByVat.get(vatNo) ?? 0;
  }
  orderCalls(mid: string): number {
    return this.orderByMid.get(mid) ?? 0;
  }
  statusChangeCalls(tid: string): number {
    return this.changeByTid.get(tid) ?? 0;
  }
  callCounts(): Record<TmoOperation, number> {
    return { ...this.calls };
  }
  recentCalls(): SimulatedCall[] {
    return this.journal.list();
  }
  activate(tid: string): boolean {
    const t = this.liveTerminal(tid);
    if (!t || t.STATUS !== 'PE') return false;
    this.ship(t, this.now());
    return true;
  }
  recordSeen(tid: string, atMs?: number): boolean {
    const t = this.liveTerminal(tid);
    if (!t) return false;
    const at = atMs ?? this.now();
    t.LAST_SEEN_DATE = yyyymmdd(at, this.timeZone);
    t.LAST_SEEN_TIME = hhmmss(at, this.timeZone);
    return true;
  }
  applySettings(tid: string, settings: TmoTerminalSettings, origin: { file: string; recordNo: number }): boolean {
    const t = this.liveTerminal(tid);
    if (!t) return false;
    const frozen = Object.freeze({ ...settings });
    t.SETTINGS = frozen;
    t.CONTACTLESS = frozen.CONTACTLESS;
    let list = this.settingsByTid.get(tid);
    if (!list) {
      list = [];
      this.settingsByTid.set(tid, list);
    }
    list.push(Object.freeze({ tid, file: origin.file, recordNo: origin.recordNo, at: this.now(), settings: frozen }));
    this.settingsApplied += 1;
    return true;
  }
  settingsApplications(tid: string): TmoSettingsApplication[] {
    return [...(this.settingsByTid.get(tid) ?? [])];
  }
  settingsApplicationCount(): number {
    return this.settingsApplied;
  }
  seedMerchant(seed: TmoMerchantSeed): string {
    const existing = this.midByVat.get(seed.VAT_NO);
    if (existing) throw new Error(`seedMerchant: VAT_NO already registered as ${existing}`);
    const MID = this.nextMid();
    this.addMerchant({ ...seed, MID, STATUS: 'AC', REG_DATE: seed.REG_DATE ?? yyyymmdd(this.now(), this.timeZone) });
    return MID;
  }
  seedTerminal(mid: string, seed: TmoTerminalSeed = {}): string {
    if (!this.merchantsByMid.has(mid)) throw new Error(`seedTerminal: unknown MID ${mid}`);
    if (seed.TID !== undefined && (!/^[A-Z0-9]{8}$/.test(seed.TID) || this.terminalsByTid.has(seed.TID))) {
      throw new Error(`seedTerminal: TID ${seed.TID} is malformed or taken`);
    }
    const TID = seed.TID ?? this.nextTid();
    const MODEL = seed.MODEL ?? 'A920';
    const at = this.now();
    const STATUS = seed.STATUS ?? 'PE';
    const seen = STATUS !== 'PE';
    this.addTerminal({
      TID,
      MID: mid,
      MODEL,
      SERIAL_NO: this.nextSerial(MODEL),
      STATUS,
      CONTACTLESS: seed.CONTACTLESS ?? 'Y',
      CURRENCY: 'EUR',
      LAST_SEEN_DATE: seen ? yyyymmdd(at, this.timeZone) : '',
      LAST_SEEN_TIME: seen ? hhmmss(at, this.timeZone) : '',
      shipTo: { SHIP_ADDR_LINE: '', SHIP_CITY: '', SHIP_ZIP: '', SHIP_PROV: '' },
      orderedAt: at,
      history: [],
      SETTINGS: null,
    });
    return TID;
  }
  summary(): TmoSummary {
    const byStatus: Record<TmoStatus, number> = { PE: 0, AC: 0, SU: 0, DC: 0 };
    for (const t of this.terminalsByTid.values()) {
      this.applyAutoActivation(t);
      byStatus[t.STATUS] += 1;
    }
    return {
      system: 'TMO',
      merchants: this.merchantsByMid.size,
      terminals: this.terminalsByTid.size,
      terminalsByStatus: byStatus,
      calls: { ...this.calls },
    };
  }
  reset(): void {
    this.merchantsByMid.clear();
    this.midByVat.clear();
    this.terminalsByTid.clear();
    this.tidsByMid.clear();
    this.registerByVat.clear();
    this.orderByMid.clear();
    this.changeByTid.clear();
    this.settingsByTid.clear();
    this.settingsApplied = 0;
    this.calls = zeroCalls();
    this.midSeq = 0;
    this.serialSeq = 0;
    this.idRng = createRng(this.seed);
    this.journal.clear();
  }

  private snapshot(tid: string): TmoTerminalRecord | undefined {
    const t = this.liveTerminal(tid);
    if (!t) return undefined;
    return Object.freeze({ ...t, shipTo: Object.freeze({ ...t.shipTo }), history: Object.freeze([...t.history]) });
  }
}

function zeroCalls(): Record<TmoOperation, number> {
  return {
    RegisterMerchant: 0,
    GetMerchant: 0,
    OrderTerminal: 0,
    GetTerminal: 0,
    ListTerminals: 0,
    ChangeTerminalStatus: 0,
  };
}
