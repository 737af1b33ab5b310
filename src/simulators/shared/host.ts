import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ControlHandler, ControlRoutes, SimulatedCall } from '../types.ts';
import { parseFaultConfig, type FaultEngine } from './faults.ts';
import { scanNamespaces } from './namespaces.ts';
import { renderFault, renderResponse, SoapFault, type CallCtx, type LoadedWsdl, type OperationHandler } from './soap.ts';

const MAX_BODY = 1024 * 1024;
const JOURNAL_SIZE = 1000;

/** Bounded ring of the last SOAP calls (for request-id propagation and exactly-once checks). */
export class CallJournal {
  private readonly items: SimulatedCall[] = [];
  private next = 0;
  add(call: SimulatedCall): void {
    if (this.items.length < JOURNAL_SIZE) this.items.push(call);
    else this.items[this.next] = call;
    this.next = (this.next + 1) % JOURNAL_SIZE;
  }
  list(): SimulatedCall[] {
    if (this.items.length < JOURNAL_SIZE) return this.items.map((c) => ({ ...c }));
    return [...this.items.slice(this.next), ...this.items.slice(0, this.next)].map((c) => ({ ...c }));
  }
  clear(): void {
    this.items.length = 0;
    this.next = 0;
  }
}

export interface SoapHostOptions {
  /** Endpoint path, e.g. `/tmo`. */
  path: string;
  /** The WSDL's target namespace (request elements must be qualified with it). */
  targetNamespace: string;
  /** The WSDL text, served at `GET <path>?wsdl`. */
  wsdlXml: string;
  wsdl: LoadedWsdl;
  /** Operation name (= SOAPAction = request element) → handler. */
  handlers: Readonly<Record<string, OperationHandler>>;
  /** Operations that change state (hangAfterApplyMs applies to them). */
  writeOperations: ReadonlySet<string>;
  faults: FaultEngine;
  now: () => number;
  journal: CallJournal;
  /** HTTP-level authentication (TMO Basic); false answers 401 with an empty body. */
  authorize?: (authorization: string | undefined) => boolean;
  /** The fault for a request that cannot be dispatched (unknown SOAPAction, not well-formed, wrong body element). */
  malformed: (ctx: CallCtx, reason: 'action' | 'xml' | 'body') => SoapFault;
  /** The system's own server fault, for a bug in a handler. */
  systemFault: (ctx: CallCtx) => SoapFault;
  /** Counts-only summary for `GET /_sim/state/summary`. */
  summary: () => unknown;
  port: number;
  host: string;
}

export interface SoapHost {
  url: string;
  control: ControlRoutes;
  close(): Promise<void>;
}

function readBody(req: http.IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => resolve(size > MAX_BODY ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, status: number, body = '', contentType?: string): void {
  if (res.writableEnded || res.destroyed) return;
  res.statusCode = status;
  if (body.length > 0 && contentType) res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

function soapActionOf(req: http.IncomingMessage): string {
  const raw = req.headers.soapaction;
  if (typeof raw !== 'string') return '';
  return raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
}

/**
 * The HTTP side shared by both simulators: outage (503, empty body), latency, HTTP auth,
 * injected failures, dispatch to node-soap, hang-after-apply, and the `/_sim` control routes.
 */
export async function startSoapHost(o: SoapHostOptions): Promise<SoapHost> {
  const timers = new Set<NodeJS.Timeout>();
  const extraRoutes = new Map<string, ControlHandler>();
  let closed = false;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  function dispatch(xml: string, ctx: CallCtx): { status: number; body: string } {
    const handler = Object.hasOwn(o.handlers, ctx.operation) ? o.handlers[ctx.operation] : undefined;
    try {
      if (!handler) throw o.malformed(ctx, 'action');
      let envelope: unknown;
      try {
        envelope = o.wsdl.xmlToObject(xml);
      } catch {
        throw o.malformed(ctx, 'xml');
      }
      const env = (envelope ?? {}) as { Header?: unknown; Body?: Record<string, unknown> | null };
      const body = env.Body;
      const element = body && typeof body === 'object' ? Object.keys(body).find((k) => k !== 'attributes') : undefined;
      if (!body || element !== ctx.operation) throw o.malformed(ctx, 'body');
      let content;
      try {
        content = handler(body[element], env.Header, ctx);
      } catch (e) {
        throw e instanceof SoapFault ? e : o.systemFault(ctx);
      }
      return { status: 200, body: renderResponse(o.wsdl, ctx.operation, o.targetNamespace, content) };
    } catch (e) {
      const fault = e instanceof SoapFault ? e : o.systemFault(ctx);
      return { status: 500, body: renderFault(o.wsdl, fault) };
    }
  }

  async function handleSoap(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const at = o.now();
    const xml = await readBody(req);
    const operation = soapActionOf(req);
    const rid = req.headers['x-request-id'];
    const call: SimulatedCall = { operation, requestId: typeof rid === 'string' ? rid : null, at, outcome: '' };
    if (xml === null) {
      call.outcome = 'HTTP413';
      o.journal.add(call);
      send(res, 413);
      return;
    }
    if (o.faults.inOutage(at)) {
      call.outcome = 'HTTP503';
      o.journal.add(call);
      send(res, 503);
      return;
    }
    const latency = o.faults.drawLatency();
    if (latency > 0) await sleep(latency);
    if (closed) return;
    if (o.authorize && !o.authorize(req.headers.authorization)) {
      call.outcome = 'HTTP401';
      o.journal.add(call);
      send(res, 401);
      return;
    }
    const ns = scanNamespaces(xml, o.targetNamespace);
    const ctx: CallCtx = {
      operation,
      injectFailure: o.faults.drawFailure(),
      outcome: '',
      namespaceError: ns.wrongElement,
      wsseSecurity: ns.wsseSecurity,
    };
    const { status, body } = dispatch(xml, ctx);
    call.outcome = ctx.outcome;
    o.journal.add(call);
    const hang = o.writeOperations.has(operation) ? o.faults.hangAfterApplyMs() : 0;
    if (hang > 0) await sleep(hang);
    send(res, status, body, 'text/xml; charset=utf-8');
  }

  async function handleControl(req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<void> {
    const json = (status: number, value: unknown) => send(res, status, JSON.stringify(value), 'application/json');
    if (path === '/_sim/faults' && req.method === 'GET') return json(200, o.faults.controller.get());
    if (path === '/_sim/faults' && req.method === 'PUT') {
      const text = await readBody(req);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text ?? '');
      } catch {
        return json(400, { error: 'body must be a JSON FaultConfig' });
      }
      try {
        o.faults.controller.set(parseFaultConfig(parsed));
      } catch (e) {
        return json(400, { error: e instanceof Error ? e.message : 'invalid fault config' });
      }
      return json(200, o.faults.controller.get());
    }
    if (path === '/_sim/state/summary' && req.method === 'GET') return json(200, o.summary());
    const extra = extraRoutes.get(`${req.method ?? ''} ${path}`);
    if (extra) {
      const text = await readBody(req);
      if (text === null) return json(413, { error: 'body too large' });
      try {
        const answer = await extra(text);
        return json(answer.status, answer.body);
      } catch (e) {
        return json(500, { error: e instanceof Error ? e.message : 'control route failed' });
      }
    }
    return json(404, { error: 'not found' });
  }

  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    let p: Promise<void>;
    if (path === o.path || path === `${o.path}/`) {
      if (req.method === 'POST') p = handleSoap(req, res);
      else if (req.method === 'GET' && q >= 0 && url.slice(q + 1).toLowerCase().startsWith('wsdl')) {
        send(res, 200, o.wsdlXml, 'text/xml; charset=utf-8');
        return;
      } else {
        res.setHeader('Allow', 'POST');
        send(res, 405);
        return;
      }
    } else if (path.startsWith('/_sim/')) {
      p = handleControl(req, res, path);
    } else {
      send(res, 404);
      return;
    }
    p.catch(() => {
      // Never reached in practice; answer something rather than leaving the socket open.
      if (!res.headersSent) send(res, 500);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const hostForUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostForUrl}:${addr.port}${o.path}`,
    control: {
      add(method, path, handler) {
        if (!path.startsWith('/_sim/')) throw new Error(`control routes live under /_sim/, got ${path}`);
        const key = `${method} ${path}`;
        extraRoutes.set(key, handler);
        return () => extraRoutes.delete(key);
      },
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        closed = true;
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
