/**
 * The error taxonomy (STYLE.md "Errors"). Every error the domain, the adapters or the jobs
 * raise is one of these kinds. Only the HTTP edge maps a kind to a status code.
 *
 * Errors cross process boundaries (BullMQ keeps failures in Redis), so callers decide on
 * `kind`/`code`/`retryable` — never on `instanceof` alone. See `isRetryable`.
 */
export type ErrorKind =
  /** caller's input is invalid (4xx, never retried) */
  | 'validation'
  /** the thing asked for does not exist */
  | 'not_found'
  /** a duplicate or a state that forbids the change */
  | 'conflict'
  /** the legacy system refused for a business reason (never retried unless its table says so) */
  | 'business'
  /** the legacy system is down, busy or failed (retried with backoff, counts toward the breaker) */
  | 'unavailable'
  /** no answer in time: the legacy system may have done the work (ambiguous outcome) */
  | 'timeout'
  /** the legacy system broke its own contract (502, alert, not retried) */
  | 'translation';

export interface FieldIssue {
  /** JSON-pointer-like path in the caller's terms, e.g. `address.postalCode` */
  field: string;
  reason: string;
}

export interface GatewayErrorOptions {
  cause?: unknown;
  retryable?: boolean;
  fields?: FieldIssue[];
  /** legacy system involved, e.g. `tmo` / `crm` */
  system?: string;
  /** seconds the caller should wait (breaker open, busy) */
  retryAfterSeconds?: number;
}

export abstract class GatewayError extends Error {
  abstract readonly kind: ErrorKind;
  /** stable, namespaced code, e.g. `merchant.not_found`, `tmo.unavailable` */
  readonly code: string;
  readonly retryable: boolean;
  readonly fields: FieldIssue[];
  readonly system: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  protected constructor(code: string, message: string, defaultRetryable: boolean, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? defaultRetryable;
    this.fields = options.fields ?? [];
    this.system = options.system;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** A plain, log- and Redis-safe representation (no cause chain: it may hold secrets). */
  toJSON(): SerializedGatewayError {
    return {
      name: this.name,
      kind: this.kind,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      fields: this.fields,
      ...(this.system === undefined ? {} : { system: this.system }),
    };
  }
}

export interface SerializedGatewayError {
  name: string;
  kind: ErrorKind;
  code: string;
  message: string;
  retryable: boolean;
  fields: FieldIssue[];
  system?: string;
}

const KINDS: ReadonlySet<string> = new Set<ErrorKind>([
  'validation', 'not_found', 'conflict', 'business', 'unavailable', 'timeout', 'translation',
]);

/** True for anything that looks like a (possibly deserialised) gateway error. */
export function isGatewayErrorLike(err: unknown): err is SerializedGatewayError {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as Record<string, unknown>;
  return typeof e.code === 'string' && typeof e.kind === 'string' && KINDS.has(e.kind);
}

/** Decide retry on data, not class identity: works for errors rebuilt from Redis. */
export function isRetryable(err: unknown): boolean {
  return isGatewayErrorLike(err) && (err as { retryable?: unknown }).retryable === true;
}
