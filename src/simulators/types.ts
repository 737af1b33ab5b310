/**
 * Public types of the in-process legacy simulators (see ./index.ts for the factories).
 * The simulators implement ../shared/legacy/CONTRACT.md; the WSDLs in fixtures/ are the wire truth.
 */

/** Credentials the simulator accepts (TMO: HTTP Basic; CRM: WS-Security UsernameToken PasswordText). */
export interface SimulatorCredentials {
  username: string;
  password: string;
}

/** Injected misbehaviour. Every field is optional; `{}` means a healthy system. */
export interface FaultConfig {
  /** Delay added before a SOAP call is processed (fixed, or uniform in [min, max] drawn from the seeded PRNG). */
  latencyMs?: number | { min: number; max: number };
  /**
   * 0..1: fraction of SOAP calls (after authentication) answered with a system failure and NOT applied.
   * TMO: half soap:Server fault `TMO-SYS…`, half `RETURN_CODE` `E901`; CRM: soap:Server fault `CRM-500`.
   */
  faultRate?: number;
  /** Epoch-ms window [from, until) during which every SOAP call answers HTTP 503 with an empty body. */
  outage?: { from: number; until: number } | null;
  /** Write operations are applied, then the answer is delayed by this many ms (provokes ambiguous client timeouts). */
  hangAfterApplyMs?: number;
}

/** Runtime control of a simulator's injected faults (also reachable over HTTP at `GET/PUT /_sim/faults`). */
export interface FaultController {
  /** Replaces the whole configuration (validated; throws RangeError on an invalid one). */
  set(cfg: FaultConfig): void;
  /** A copy of the current configuration. */
  get(): FaultConfig;
  /** Back to a healthy system (`{}`). */
  reset(): void;
  /** Starts an outage now, lasting `ms` milliseconds (keeps the other settings). */
  outageFor(ms: number): void;
}

/** Answer of a control route: HTTP status and a JSON body. */
export interface ControlResponse {
  status: number;
  body: unknown;
}

/** Handler of an extra `/_sim/…` control route; `body` is the raw request body (≤ 1 MB). */
export type ControlHandler = (body: string) => Promise<ControlResponse> | ControlResponse;

/** Extra `/_sim/…` routes other simulators hang on this one (e.g. the SFTP simulator's `POST /_sim/termstat` on TMO). */
export interface ControlRoutes {
  /** Adds `method path` (path must start with `/_sim/`); returns a function that removes it. */
  add(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, handler: ControlHandler): () => void;
}

/** A running simulator: where it listens, its fault controls and its state inspection. */
export interface RunningSimulator<S> {
  /** Full endpoint URL, e.g. `http://127.0.0.1:PORT/tmo`. */
  url: string;
  faults: FaultController;
  state: S;
  control: ControlRoutes;
  /** Stops listening and drops open connections; safe to call twice. */
  close(): Promise<void>;
}

/** Options common to both simulators. */
export interface SimulatorOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Bind address; default `127.0.0.1`. */
  host?: string;
  /** Default `{ username: 'gateway', password: 'gateway-dev-secret' }`. */
  credentials?: SimulatorCredentials;
  /** Initial fault configuration; default `{}`. */
  faults?: FaultConfig;
  /** Seed of the deterministic PRNG behind generated ids, latency draws and fault draws; default 1. */
  seed?: number;
  /** IANA zone the legacy dates and times are written in; default `UTC` (the contract is silent). */
  timeZone?: string;
  /** Clock (epoch ms) used for dates, outages and auto-activation; default `Date.now`. */
  now?: () => number;
}

/** One entry of a simulator's bounded call journal (last 1,000 SOAP calls). */
export interface SimulatedCall {
  /** Operation named by the SOAPAction header ('' when absent). */
  operation: string;
  /** The `X-Request-Id` HTTP header the caller sent, or null. */
  requestId: string | null;
  /** Epoch ms when the call arrived. */
  at: number;
  /**
   * What the simulator answered: a TMO RETURN_CODE (`00`, `E101`…), a fault string prefix
   * (`TMO-VAL`, `TMO-SYS`, `CRM-400`, `CRM-AUTH`…), `OK` for a CRM success, or `HTTP401` / `HTTP503`.
   */
  outcome: string;
}
