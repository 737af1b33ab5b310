/**
 * The one way the gateway logs: pino with three layers of protection for sensitive data
 * (STYLE.md: IBANs, credentials and tokens never reach a log line in clear text).
 *
 * 1. `hooks.logMethod` rewrites what a call passes before pino sees it: errors anywhere become
 *    {@link serializeError} output (node-soap/axios errors carry the whole request, with
 *    credentials and IBANs), values under sensitive keys are masked at any depth, and every
 *    string goes through {@link scrubText}.
 * 2. {@link REDACT_PATHS}, for the well-known places, as a second line: pino `redact` for the
 *    paths that start at a top-level key, {@link redactBelowTop} (pino's `formatters`) for the
 *    `*.key` ones (see there why).
 * 3. The destination is wrapped so that every finished line goes through {@link scrubText} once
 *    more: this also covers `logger.child(bindings)`, which pino serialises without the hooks.
 *
 * Free text can only be scrubbed by pattern: a bare password in a message (`'pw is %s'`) is not
 * recognisable. Log classified fields, never raw legacy payloads.
 */
import { isValidIban, maskIban } from '../domain/iban.ts';
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from '../config.ts';

export type Logger = PinoLogger;
export type { LogLevel };

export interface CreateLoggerOptions {
  /** default `info` */
  level?: LogLevel;
  /** where NDJSON lines go; default stdout */
  destination?: DestinationStream;
  /** bound into every line as `name` */
  name?: string;
}

const MASK = '***';

/** Keys whose values are secret wherever they appear (compared lower-case without `-`/`_`). */
const SENSITIVE_KEY = /password|passwd|passphrase|secret|token|authorization|cookie|iban|apikey|privatekey|credential|signature/;

/** Paths pino redacts itself (layer 2); the hook already masks these keys at any depth. */
export const REDACT_PATHS: readonly string[] = [
  'password',
  '*.password',
  'passwd',
  '*.passwd',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'authorization',
  'Authorization',
  '*.authorization',
  '*.Authorization',
  'headers.authorization',
  'headers.Authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'iban',
  'Iban',
  '*.iban',
  '*.Iban',
  'IBAN',
  '*.IBAN',
  'lastRequest',
  '*.lastRequest',
];

/** The `*.key` paths: `key` one level below any top-level key. */
const BELOW_TOP_KEYS: readonly string[] = REDACT_PATHS.filter((p) => p.startsWith('*.')).map((p) => p.slice(2));
/** The paths pino's own `redact` handles: only where their top-level key is present. */
const TOP_LEVEL_REDACT_PATHS: readonly string[] = REDACT_PATHS.filter((p) => !p.startsWith('*.'));

/**
 * The `*.key` redact paths: `key` masked one level below any top-level key, in a copy (the input
 * is not changed). pino would run a path that starts with `*` through its redactor for *every*
 * value of every line, numbers and strings included: ~7 µs per access-log line, most of the
 * logger's cost. Here a line of primitives costs one `typeof` per key.
 */
export function redactBelowTop(obj: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const k in obj) {
    const v = obj[k];
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(obj, k)) continue;
    let copy: Record<string, unknown> | undefined;
    for (const key of BELOW_TOP_KEYS) {
      if (!Object.hasOwn(v, key)) continue;
      copy ??= { ...(v as Record<string, unknown>) };
      copy[key] = MASK;
    }
    if (copy) {
      out ??= { ...obj };
      out[k] = copy;
    }
  }
  return out ?? obj;
}

// ---------------------------------------------------------------------------------------------
// Free text

const IBAN_COMPACT = /\b([A-Z]{2})(\d{2}[A-Z0-9]{11,30})\b/g;
/** Printed in groups of four: `IT60 X054 2811 1010 0000 0123 456`. */
const IBAN_GROUPED = /\b([A-Z]{2})(\d{2}(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)\b/g;
/** Any case: masked only when the checksum holds, so ordinary lower-case ids survive. */
const IBAN_ANY_CASE = /\b([A-Za-z]{2})(\d{2}[A-Za-z0-9]{11,30})\b/g;
const JWT = /\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
const BEARER = /\b(Bearer)(\s+)[A-Za-z0-9+/=._~-]{4,}/gi;
/** Masked when the value decodes to `user:password`, so prose like "Basic information" survives. */
const BASIC = /\b(Basic)(\s+)([A-Za-z0-9+/]{4,}={0,2})/gi;
/** XML elements whose text is secret, with or without a namespace prefix. */
const XML_SECRET = /(<((?:[\w.-]+:)?)(Password|Nonce|Iban|BinarySecurityToken)\b[^>]*>)([^<]*)(<\/\2\3\s*>)/gi;
/** The same, XML-escaped inside another document or a message. */
const XML_SECRET_ESCAPED = /(&lt;((?:[\w.-]+:)?)(Password|Nonce|Iban|BinarySecurityToken)\b(?:(?!&gt;).)*&gt;)((?:(?!&lt;).)*)(&lt;\/\2\3\s*&gt;)/gi;
/** `"password":"…"` in JSON text (values may hold escaped quotes). */
const JSON_SECRET = /("[\w-]*(?:password|passwd|secret|token|authorization|cookie|api[_-]?key|iban)[\w-]*"\s*:\s*")((?:[^"\\]|\\.)*)(")/gi;
/** `password=…` / `password: …` in query strings, form bodies and messages. */
const KV_SECRET = /\b((?:[\w-]*(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|refresh[_-]?token|client[_-]?secret))\s*[=:]\s*["']?)(?!\*\*\*)([^\s"'&,;}<]+)/gi;
/** `scheme://user:password@host` */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^:/\s@]*:)[^@\s/]+@/gi;

/**
 * One pass that finds every string any pattern above could change: the trigger words of the
 * secret patterns, `://`, `eyJ`, and an IBAN's shape (2 letters, 2 digits, 10 more letters,
 * digits or spaces). A line without a hit is returned as it is: most log lines (the access
 * log) hold nothing sensitive, and eleven regex passes per line cost more than the line.
 * `logger.test.ts` proves every pattern's hits are also hits here.
 */
export const MAYBE_SENSITIVE = /pass|pwd|secret|token|authori[sz]ation|cookie|api[_-]?key|iban|nonce|bearer|basic|eyJ|:\/\/|\b[A-Za-z]{2}\d{2}[A-Za-z0-9 ]{10}/i;

export { isValidIban };

/**
 * Masks what looks sensitive in free text: IBANs (country + last 4 kept), `Basic`/`Bearer`
 * credentials, JWTs, the content of WS-Security `Password`/`Nonce` and `Iban` XML elements,
 * `password=`-style pairs, JSON secret fields and passwords in URLs. Idempotent.
 */
export function scrubText(s: string): string {
  if (s.length === 0 || !MAYBE_SENSITIVE.test(s)) return s;
  return scrubAllPatterns(s);
}

/** {@link scrubText} without the {@link MAYBE_SENSITIVE} shortcut (exported for the test that proves the shortcut safe). */
export function scrubAllPatterns(s: string): string {
  return s
    .replace(XML_SECRET, (_m, open: string, _p, name: string, content: string, close: string) =>
      open + (name.toLowerCase() === 'iban' && content.length >= 8 ? maskIban(content) : MASK) + close,
    )
    .replace(XML_SECRET_ESCAPED, (_m, open: string, _p, name: string, content: string, close: string) =>
      open + (name.toLowerCase() === 'iban' && content.length >= 8 ? maskIban(content) : MASK) + close,
    )
    .replace(JWT, '[JWT]')
    .replace(BEARER, `$1$2${MASK}`)
    .replace(BASIC, (m, scheme: string, space: string, value: string) =>
      Buffer.from(value, 'base64').toString('latin1').includes(':') ? `${scheme}${space}${MASK}` : m,
    )
    .replace(URL_PASSWORD, `$1${MASK}@`)
    .replace(JSON_SECRET, (_m, head: string, value: string, tail: string) =>
      head + (/iban/i.test(head) && value.length >= 8 ? maskIban(value) : MASK) + tail,
    )
    .replace(KV_SECRET, `$1${MASK}`)
    .replace(IBAN_GROUPED, (m) => maskIban(m))
    .replace(IBAN_COMPACT, (m) => maskIban(m))
    .replace(IBAN_ANY_CASE, (m) => (isValidIban(m) ? maskIban(m) : m));
}

// ---------------------------------------------------------------------------------------------
// Errors and structured values

/** What an error looks like in a log line. */
export interface SerializedLogError {
  name: string;
  message: string;
  code?: string | number;
  kind?: string;
  retryable?: boolean;
  system?: string;
  /** HTTP status of a failed legacy call (`err.response.status`) */
  status?: number;
  cause?: SerializedLogError;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function isErrorLike(v: unknown): v is Record<string, unknown> & { message: unknown } {
  return v instanceof Error || (isRecord(v) && typeof v.message === 'string' && typeof v.stack === 'string');
}

/**
 * Keeps only name, code, kind, retryable, system, response status, a scrubbed message and the
 * (equally reduced) cause chain. Drops everything else — in particular axios/node-soap `config`,
 * `request`, `response` (with `response.config`), `root`, `body` and `lastRequest`, which hold
 * credentials and the request envelope.
 */
export function serializeError(err: unknown, depth = 0): SerializedLogError {
  if (!isErrorLike(err)) return { name: 'NonError', message: scrubText(typeof err === 'string' ? err : String(safeToString(err))) };
  const out: SerializedLogError = {
    name: typeof err.name === 'string' ? scrubText(err.name) : 'Error',
    message: scrubText(String(err.message)),
  };
  if (typeof err.code === 'string' || typeof err.code === 'number') out.code = typeof err.code === 'string' ? scrubText(err.code) : err.code;
  if (typeof err.kind === 'string') out.kind = err.kind;
  if (typeof err.retryable === 'boolean') out.retryable = err.retryable;
  if (typeof err.system === 'string') out.system = err.system;
  const response = err.response;
  if (isRecord(response) && typeof response.status === 'number') out.status = response.status;
  if (err.cause !== undefined && depth < 4) out.cause = serializeError(err.cause, depth + 1);
  return out;
}

function safeToString(v: unknown): string {
  try {
    return String(v);
  } catch {
    return '[unprintable]';
  }
}

/** Verdicts per key name: log lines reuse a few dozen names, each tested once (bounded: names can be data). */
const sensitiveKeyCache = new Map<string, boolean>();

function isSensitiveKey(key: string): boolean {
  let sensitive = sensitiveKeyCache.get(key);
  if (sensitive === undefined) {
    sensitive = SENSITIVE_KEY.test(key.toLowerCase().replace(/[-_]/g, ''));
    if (sensitiveKeyCache.size >= 1_000) sensitiveKeyCache.clear();
    sensitiveKeyCache.set(key, sensitive);
  }
  return sensitive;
}

const MAX_DEPTH = 8;
const MAX_KEYS = 200;

/**
 * A copy of `value` that is safe to log: errors serialised, sensitive keys masked, strings
 * scrubbed, cycles and depth bounded. The input is not changed.
 */
export function sanitizeForLog(value: unknown, depth = 0, seen?: WeakSet<object>): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object' || value === null) return value;
  if (isErrorLike(value)) return serializeError(value);
  if (seen === undefined) {
    // The common case (an access-log line): a plain object of primitives, no cycle possible.
    const flat = sanitizeFlat(value);
    if (flat !== undefined) return flat;
    seen = new WeakSet();
  }
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Truncated]';
  if (value instanceof Date) return value;
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[binary ${value.byteLength} bytes]`;
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.slice(0, MAX_KEYS).map((v) => sanitizeForLog(v, depth + 1, seen));
    if (value instanceof Map) return sanitizeForLog(Object.fromEntries(value), depth, seen);
    if (value instanceof Set) return sanitizeForLog([...value], depth, seen);
    const maybeJson = (value as { toJSON?: unknown }).toJSON;
    if (typeof maybeJson === 'function') return sanitizeForLog(maybeJson.call(value), depth + 1, seen);
    const out: Record<string, unknown> = {};
    let n = 0;
    for (const [k, v] of Object.entries(value)) {
      if (++n > MAX_KEYS) {
        out['…'] = '[Truncated]';
        break;
      }
      if (isSensitiveKey(k)) {
        out[k] = /iban/i.test(k) && typeof v === 'string' && v.length >= 8 ? maskIban(v) : MASK;
      } else {
        out[k] = sanitizeForLog(v, depth + 1, seen);
      }
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

/** Sanitised copy of a plain object holding only primitives; `undefined` when it is anything else. */
function sanitizeFlat(value: object): Record<string, unknown> | undefined {
  if (Object.getPrototypeOf(value) !== Object.prototype) return undefined;
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue;
    if (++n > MAX_KEYS) return undefined;
    const v = (value as Record<string, unknown>)[k];
    if ((typeof v === 'object' && v !== null) || typeof v === 'function') return undefined;
    if (isSensitiveKey(k)) out[k] = /iban/i.test(k) && typeof v === 'string' && v.length >= 8 ? maskIban(v) : MASK;
    else if (typeof v === 'string') out[k] = scrubText(v);
    else if (typeof v === 'bigint') out[k] = v.toString();
    else out[k] = v;
  }
  return out;
}

/** pino's `err` serializer: the hook has usually serialised already; catch what it did not. */
function errSerializer(value: unknown): unknown {
  return isErrorLike(value) ? serializeError(value) : value;
}

/** pino's `hooks.logMethod`: sanitises the arguments of every call. */
function scrubLogArgs(args: unknown[]): unknown[] {
  const [first, ...rest] = args;
  if (isErrorLike(first)) {
    // pino would log the whole error under `err` and use its message as msg: keep that shape.
    const err = serializeError(first);
    const msg = rest.length > 0 ? rest.map((a) => sanitizeForLog(a)) : [err.message];
    return [{ err }, ...msg];
  }
  return args.map((a) => sanitizeForLog(a));
}

type FlushableDestination = DestinationStream & { flushSync?: () => void; flush?: (cb?: (err?: Error) => void) => void };

/** Wraps a destination so each finished line is scrubbed once more (layer 3). */
function scrubbingDestination(dest: FlushableDestination): FlushableDestination {
  const wrapped: FlushableDestination = {
    write(line: string) {
      dest.write(scrubText(line));
    },
  };
  if (typeof dest.flushSync === 'function') wrapped.flushSync = () => dest.flushSync?.();
  if (typeof dest.flush === 'function') wrapped.flush = (cb) => dest.flush?.(cb);
  return wrapped;
}

/** How {@link batchingDestination} groups lines. */
export interface LineBatchOptions {
  /** lines held at most this long (ms) before they are written; default 20 */
  maxDelayMs?: number;
  /** written at once when the held lines reach this many characters; default 16 KiB (sonic-boom's largest single write) */
  maxChars?: number;
}

/**
 * True for a pino line at `warn` (40) or above: `{"level":<n>` opens every line pino writes
 * (numeric levels, the default). Anything else counts as below.
 */
function isWarnOrAbove(line: string): boolean {
  // '{"level":' is 9 characters; levels are two digits: 40 warn, 50 error, 60 fatal
  return line.charCodeAt(9) >= 52 /* '4' */ && line.charCodeAt(10) === 48 /* '0' */ && line.startsWith('{"level":');
}

/**
 * Hands lines to `dest` in batches: at most `maxDelayMs` late, or at once when `maxChars` are
 * held. On this kind of VM one asynchronous `fs.write` costs ~20–30 µs of CPU (the write runs
 * on libuv's thread pool, woken per write), and at a few thousand requests/s the access-log
 * lines arrive too far apart for sonic-boom to coalesce them while a write is in flight: one
 * write per line (issue 8). Batched, one write carries up to ~70 access-log lines. A line at
 * `warn` or above is not held: it goes out at once, after the lines held before it (an operator
 * or a test waiting on a warning sees it when it happens). Nothing is
 * dropped: held lines go out before `flushSync`/`flush`, and on process exit (the `exit`
 * listener: `process.exit`, an uncaught exception, the end of shutdown), and a fatal line is
 * written at once like any line at `warn` or above; only a hard kill (SIGKILL, OOM) loses what is held, as it
 * loses a write in flight. Order is kept. (createLogger scrubs each line before it is held.)
 */
export function batchingDestination(dest: FlushableDestination, opts: LineBatchOptions = {}): FlushableDestination & { close(): void } {
  const maxDelayMs = opts.maxDelayMs ?? 20;
  const maxChars = opts.maxChars ?? 16_384;
  let held: string[] = [];
  let heldChars = 0;
  let timer: NodeJS.Timeout | undefined;
  const handOver = (): void => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (held.length === 0) return;
    const batch = held.length === 1 ? (held[0] as string) : held.join('');
    held = [];
    heldChars = 0;
    dest.write(batch);
  };
  const onExit = (): void => {
    try {
      handOver();
      dest.flushSync?.();
    } catch {
      // exiting: nothing left to report it to
    }
  };
  process.once('exit', onExit);
  return {
    write(line: string) {
      held.push(line);
      heldChars += line.length;
      if (heldChars >= maxChars || isWarnOrAbove(line)) handOver();
      else if (timer === undefined) {
        timer = setTimeout(handOver, maxDelayMs);
        timer.unref();
      }
    },
    flushSync() {
      handOver();
      dest.flushSync?.();
    },
    flush(cb?: (err?: Error) => void) {
      handOver();
      if (dest.flush) dest.flush(cb);
      else cb?.();
    },
    /** hands over what is held and stops watching for the process's exit */
    close() {
      handOver();
      process.removeListener('exit', onExit);
    },
  };
}

/**
 * A pino logger that never writes credentials, tokens or IBANs in clear text
 * (see the module comment for how).
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  // stdout is written asynchronously, in batches of lines at most 20 ms late (batchingDestination:
  // one thread-pool write per up to ~70 access-log lines instead of one per line, ~20 µs of CPU
  // each here; issue 8); what is held goes out on exit, fatal paths included. sonic-boom's own
  // `minLength` would do the grouping too, but re-measures its growing buffer on every line and
  // needs a periodic flush that writes even when nothing is held.
  const destination = scrubbingDestination(options.destination ?? batchingDestination(pino.destination({ dest: 1, sync: false })));
  const logger = pino(
    {
      level: options.level ?? 'info',
      ...(options.name === undefined ? {} : { name: options.name }),
      redact: { paths: [...TOP_LEVEL_REDACT_PATHS], censor: MASK },
      // the `*.key` paths on every line's object (child bindings: below)
      formatters: { log: redactBelowTop },
      serializers: { err: errSerializer, error: errSerializer },
      hooks: {
        logMethod(args, method) {
          // pino's LogFn overloads can't be spelled for a rewritten argument list.
          method.apply(this, scrubLogArgs(args) as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
  // ... and on child bindings at any depth of children: they inherit this own property, and
  // pino's own `child` (the prototype's) serialises the redacted copy.
  const pinoChild = logger.child;
  logger.child = function childWithRedaction(this: Logger, bindings: Record<string, unknown>, childOptions?: Parameters<Logger['child']>[1]) {
    return pinoChild.call(this, redactBelowTop(bindings), childOptions);
  } as Logger['child'];
  return logger;
}
