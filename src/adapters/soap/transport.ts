// HTTP POST of SOAP envelopes over an undici Pool of keep-alive connections (issue 8: about a
// third of node:http's CPU per call on this path). Failures come back as a TransportFailure
// holding only a reason and an error code — never the request, its headers (Basic
// credentials) or its body (WS-Security password, IBANs).
import type { IncomingHttpHeaders } from 'node:http';
import type { ConnectionOptions } from 'node:tls';
import { Pool, type Dispatcher } from 'undici';
import type { CallSignal } from '../../domain/call-context.ts';

export type TransportFailureReason =
  /** no answer within the per-call timeout: the legacy system may have done the work */
  | 'timeout'
  /** the caller aborted (ctx.signal) */
  | 'aborted'
  /** nothing listening */
  | 'refused'
  /** connection reset / closed mid-call */
  | 'reset'
  /** DNS, unreachable host, TLS… */
  | 'network'
  /** response larger than the cap */
  | 'too_large'
  /** a 2xx body that is not valid UTF-8 (CONTRACT.md: both systems answer UTF-8) */
  | 'invalid_utf8';

export class TransportFailure extends Error {
  constructor(
    readonly reason: TransportFailureReason,
    /** Node error code (ECONNREFUSED, …) when there is one */
    readonly errno?: string,
  ) {
    super(errno === undefined ? `transport failure: ${reason}` : `transport failure: ${reason} (${errno})`);
    this.name = 'TransportFailure';
  }
}

export interface HttpReply {
  status: number;
  contentType: string;
  body: string;
  /** `Retry-After` in seconds when the server sent a numeric one */
  retryAfterSeconds: number | undefined;
}

/** TLS settings for an `https:` endpoint, passed to the pool's `connect` options (private CA, client certificate). */
export type TransportTlsOptions = Pick<
  ConnectionOptions,
  'ca' | 'cert' | 'key' | 'passphrase' | 'pfx' | 'servername' | 'rejectUnauthorized' | 'minVersion' | 'ciphers'
>;

export interface HttpTransportOptions {
  endpoint: string;
  /** connections kept to the host: size it to the bulkhead limit */
  maxSockets: number;
  timeoutMs: number;
  maxResponseBytes: number;
  /** sent on every request (e.g. `Authorization`) */
  headers?: Readonly<Record<string, string>>;
  /** TLS options for an `https:` endpoint (CA file contents, client certificate and key, …) */
  tls?: TransportTlsOptions;
  /**
   * Where requests go instead of the transport's own Pool: an undici `MockAgent` in tests, or
   * a shared dispatcher. The transport does not close a dispatcher it was given.
   */
  dispatcher?: Dispatcher;
}

export interface PostOptions {
  soapAction: string;
  requestId: string;
  signal?: CallSignal | undefined;
}

export interface HttpTransport {
  post(body: string, opts: PostOptions): Promise<HttpReply>;
  close(): void;
}

const RESET_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

function classifySocketError(err: unknown): TransportFailure {
  if (err instanceof TransportFailure) return err;
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : undefined;
  if (code === 'ECONNREFUSED') return new TransportFailure('refused', code);
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return new TransportFailure('timeout', code);
  if (code !== undefined && RESET_CODES.has(code)) return new TransportFailure('reset', code);
  if ((err as Error)?.message === 'socket hang up') return new TransportFailure('reset', code ?? 'ECONNRESET');
  return new TransportFailure('network', code);
}

/**
 * Strict UTF-8: invalid bytes throw instead of becoming U+FFFD. As cheap as `Buffer#toString`
 * (one pass; measured within noise of it on 1–20 KB replies). `ignoreBOM` keeps a BOM in the
 * text as before (the response parser strips it). Stateless without `stream`, so one instance
 * serves every call.
 */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Request ids come from callers: keep them a valid, bounded header value. */
function headerSafe(value: string): string {
  return value.replace(/[^\x21-\x7E]/g, '').slice(0, 128);
}

function retryAfterOf(headers: IncomingHttpHeaders): number | undefined {
  const ra = headers['retry-after'];
  return typeof ra === 'string' && /^\d{1,6}$/.test(ra.trim()) ? Number(ra.trim()) : undefined;
}

/**
 * One call's undici handler. A class (not closures) so the hot path allocates one object per
 * call; it is also the abort listener (`handleEvent`) and the timer's argument.
 */
class ReplyHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private failure: TransportFailure | undefined;
  private settled = false;
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  private readonly chunks: Buffer[] = [];
  private size = 0;
  readonly timer: NodeJS.Timeout;

  constructor(
    private readonly resolve: (reply: HttpReply) => void,
    private readonly reject: (err: TransportFailure) => void,
    private readonly maxBytes: number,
    timeoutMs: number,
    private readonly signal: CallSignal | undefined,
  ) {
    this.timer = setTimeout(onTimeout, timeoutMs, this);
    signal?.addEventListener('abort', this, { once: true });
  }

  /** The caller's signal fired. */
  handleEvent(): void {
    this.fail(new TransportFailure('aborted'));
  }

  fail(f: TransportFailure): void {
    if (this.settled) return;
    this.finish(f);
    // Not started yet: abort as soon as it is (onRequestStart); else cut the socket now.
    this.failure = f;
    if (this.controller && !this.controller.aborted) this.controller.abort(f);
  }

  private finish(err: TransportFailure | undefined): void {
    this.settled = true;
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this);
    if (err) {
      this.reject(err);
      return;
    }
    const { chunks, status } = this;
    let body: string;
    try {
      body = STRICT_UTF8.decode(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    } catch {
      // A lenient decode would turn the bad bytes into U+FFFD and pass them on as data.
      if (status >= 200 && status < 300) {
        this.reject(new TransportFailure('invalid_utf8'));
        return;
      }
      body = ''; // an error page in some other encoding: its status decides, its text is never read
    }
    this.resolve({ status, contentType: String(this.headers['content-type'] ?? ''), body, retryAfterSeconds: retryAfterOf(this.headers) });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.failure) controller.abort(this.failure);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // 1xx informational: the real answer follows
    this.status = statusCode;
    this.headers = headers;
    const declared = Number(headers['content-length']);
    if (Number.isFinite(declared) && declared > this.maxBytes) this.fail(new TransportFailure('too_large'));
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      this.fail(new TransportFailure('too_large'));
      return;
    }
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (!this.settled) this.finish(undefined);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (!this.settled) this.finish(classifySocketError(err));
  }
}

function onTimeout(handler: ReplyHandler): void {
  handler.fail(new TransportFailure('timeout'));
}

/** A keep-alive HTTP(S) client for one legacy endpoint. */
export function createHttpTransport(opts: HttpTransportOptions): HttpTransport {
  const url = new URL(opts.endpoint);
  const origin = url.origin;
  const path = `${url.pathname}${url.search}`;
  const own =
    opts.dispatcher === undefined
      ? new Pool(origin, {
          connections: opts.maxSockets,
          pipelining: 1,
          // our own per-call timer decides; these only stop a socket that went silent for longer
          headersTimeout: opts.timeoutMs + 1000,
          bodyTimeout: opts.timeoutMs + 1000,
          ...(opts.tls === undefined ? {} : { connect: { ...opts.tls } }),
        })
      : undefined;
  const dispatcher: Dispatcher = opts.dispatcher ?? (own as Pool);
  // Header pairs flattened once; only SOAPAction and X-Request-Id change per call.
  const staticHeaders: string[] = [];
  for (const [k, v] of Object.entries({ 'Content-Type': 'text/xml; charset=utf-8', Accept: 'text/xml', ...opts.headers })) staticHeaders.push(k, v);

  function post(body: string, p: PostOptions): Promise<HttpReply> {
    return new Promise<HttpReply>((resolve, reject) => {
      if (p.signal?.aborted) {
        reject(new TransportFailure('aborted'));
        return;
      }
      const handler = new ReplyHandler(resolve, reject, opts.maxResponseBytes, opts.timeoutMs, p.signal);
      try {
        dispatcher.dispatch(
          {
            origin,
            path,
            method: 'POST',
            headers: [...staticHeaders, 'SOAPAction', `"${p.soapAction}"`, 'X-Request-Id', headerSafe(p.requestId)],
            body,
          },
          handler,
        );
      } catch (err) {
        handler.fail(classifySocketError(err));
      }
    });
  }

  return {
    post,
    close: () => {
      // destroy, not close: in-flight calls fail at once instead of holding shutdown up
      own?.destroy().catch(() => undefined);
    },
  };
}
