// HTTP POST of SOAP envelopes over a keep-alive node:http Agent. Failures come back as a
// TransportFailure holding only a reason and a Node error code — never the request, its
// headers (Basic credentials) or its body (WS-Security password, IBANs).
import http from 'node:http';
import https from 'node:https';

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
  | 'too_large';

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

export interface HttpTransportOptions {
  endpoint: string;
  /** sockets kept per host: size it to the bulkhead limit */
  maxSockets: number;
  timeoutMs: number;
  maxResponseBytes: number;
  /** sent on every request (e.g. `Authorization`) */
  headers?: Readonly<Record<string, string>>;
}

export interface PostOptions {
  soapAction: string;
  requestId: string;
  signal?: AbortSignal | undefined;
}

export interface HttpTransport {
  post(body: string, opts: PostOptions): Promise<HttpReply>;
  close(): void;
}

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET']);

function classifySocketError(err: unknown): TransportFailure {
  if (err instanceof TransportFailure) return err;
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : undefined;
  if (code === 'ECONNREFUSED') return new TransportFailure('refused', code);
  if (code !== undefined && RESET_CODES.has(code)) return new TransportFailure('reset', code);
  if ((err as Error)?.message === 'socket hang up') return new TransportFailure('reset', code ?? 'ECONNRESET');
  return new TransportFailure('network', code);
}

/** Request ids come from callers: keep them a valid, bounded header value. */
function headerSafe(value: string): string {
  return value.replace(/[^\x21-\x7E]/g, '').slice(0, 128);
}

/** A keep-alive HTTP(S) client for one legacy endpoint. */
export function createHttpTransport(opts: HttpTransportOptions): HttpTransport {
  const url = new URL(opts.endpoint);
  const secure = url.protocol === 'https:';
  const agent = secure
    ? new https.Agent({ keepAlive: true, maxSockets: opts.maxSockets, maxFreeSockets: opts.maxSockets, scheduling: 'lifo' })
    : new http.Agent({ keepAlive: true, maxSockets: opts.maxSockets, maxFreeSockets: opts.maxSockets, scheduling: 'lifo' });
  const request = secure ? https.request : http.request;
  const base = {
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port,
    path: `${url.pathname}${url.search}`,
    method: 'POST',
    agent,
  };
  const staticHeaders = { 'Content-Type': 'text/xml; charset=utf-8', Accept: 'text/xml', ...opts.headers };

  function post(body: string, p: PostOptions): Promise<HttpReply> {
    return new Promise<HttpReply>((resolve, reject) => {
      if (p.signal?.aborted) {
        reject(new TransportFailure('aborted'));
        return;
      }
      // A string body (not a Buffer) lets Node send headers and body in one write, not a writev.
      const length = Buffer.byteLength(body, 'utf8');
      let settled = false;
      const finish = (err: TransportFailure | undefined, reply?: HttpReply): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        p.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(reply as HttpReply);
      };
      const req = request({
        ...base,
        headers: {
          ...staticHeaders,
          SOAPAction: `"${p.soapAction}"`,
          'X-Request-Id': headerSafe(p.requestId),
          'Content-Length': length,
        },
      });
      const fail = (f: TransportFailure): void => {
        finish(f);
        req.destroy();
      };
      // Declared after `finish`, which only runs from later events, so the TDZ is never hit.
      const timer = setTimeout(() => fail(new TransportFailure('timeout')), opts.timeoutMs);
      const onAbort = (): void => fail(new TransportFailure('aborted'));
      p.signal?.addEventListener('abort', onAbort, { once: true });

      req.on('error', (err) => finish(classifySocketError(err)));
      req.on('response', (res) => {
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > opts.maxResponseBytes) {
          fail(new TransportFailure('too_large'));
          res.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > opts.maxResponseBytes) {
            fail(new TransportFailure('too_large'));
            res.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (err) => finish(classifySocketError(err)));
        res.on('aborted', () => finish(new TransportFailure('reset', 'ECONNRESET')));
        res.on('close', () => {
          if (!res.complete) finish(new TransportFailure('reset', 'ECONNRESET'));
        });
        res.on('end', () => {
          const ra = res.headers['retry-after'];
          const retryAfter = typeof ra === 'string' && /^\d{1,6}$/.test(ra.trim()) ? Number(ra.trim()) : undefined;
          finish(undefined, {
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8'),
            retryAfterSeconds: retryAfter,
          });
        });
      });
      req.end(body, 'utf8');
    });
  }

  return {
    post,
    close: () => agent.destroy(),
  };
}
