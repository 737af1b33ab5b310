import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as soap from 'soap';

/** Absolute path of a file under the project's fixtures/ folder. */
export function fixturePath(relative: string): string {
  return fileURLToPath(new URL(`../../../fixtures/${relative}`, import.meta.url));
}

const wsdlCache = new Map<string, Promise<string>>();

/** Reads a WSDL once per process (simulators are started many times by tests). */
export function loadWsdl(relative: string): Promise<string> {
  let p = wsdlCache.get(relative);
  if (!p) {
    p = readFile(fixturePath(relative), 'utf8');
    wsdlCache.set(relative, p);
    p.catch(() => wsdlCache.delete(relative));
  }
  return p;
}

/** Per-call context handed from the HTTP layer to the operation handlers. */
export interface CallCtx {
  operation: string;
  /** The HTTP layer decided this call fails with an injected system failure. */
  injectFailure: boolean;
  /** Set when node-soap reached an operation handler (otherwise the request was malformed). */
  handled: boolean;
  /** Journal outcome (RETURN_CODE, fault code…). */
  outcome: string;
  /** First request element found outside its required namespace (see namespaces.ts), or null. */
  namespaceError: string | null;
  /** A WS-Security header in the WSS 1.0 namespace was present. */
  wsseSecurity: boolean;
}

/**
 * node-soap passes our serverless request's `headers` object through to the service method
 * (as `req.headers`), so it doubles as the key to find the call's context.
 */
export const callContexts = new WeakMap<object, CallCtx>();

export interface Fault11 {
  faultcode: string;
  faultstring: string;
  detail?: Record<string, unknown>;
  statusCode: number;
}

/** What a handler throws to answer with a SOAP 1.1 fault (node-soap renders anything with a `Fault`). */
export class SoapFault {
  readonly Fault: Fault11;
  constructor(faultcode: 'soap:Client' | 'soap:Server', faultstring: string, detail?: Record<string, unknown>) {
    this.Fault = { faultcode, faultstring, statusCode: 500 };
    if (detail) this.Fault.detail = detail;
  }
}

export function isSoapFault(e: unknown): e is SoapFault {
  return e instanceof SoapFault;
}

export type OperationHandler = (args: unknown, soapHeaders: unknown, ctx: CallCtx) => Record<string, unknown>;

/**
 * Wraps plain handlers as node-soap service methods: finds the call context, marks the call
 * handled and turns unexpected exceptions into the system's own server fault.
 */
export function bindOperations(
  handlers: Record<string, OperationHandler>,
  onUnexpected: (ctx: CallCtx) => SoapFault,
): soap.IServicePort {
  const port: soap.IServicePort = {};
  for (const [name, handler] of Object.entries(handlers)) {
    port[name] = (args: unknown, _cb: unknown, headers: unknown, req: { headers?: object } | undefined) => {
      const ctx = req?.headers ? callContexts.get(req.headers) : undefined;
      if (!ctx) throw onUnexpected({ operation: name, injectFailure: false, handled: true, outcome: '', namespaceError: null, wsseSecurity: false });
      ctx.handled = true;
      try {
        return handler(args, headers, ctx);
      } catch (e) {
        if (isSoapFault(e)) throw e;
        throw onUnexpected(ctx);
      }
    };
  }
  return port;
}

/** Creates a serverless node-soap Server (we own the HTTP layer) and waits until the WSDL is ready. */
export function createSoapServer(path: string, xml: string, services: soap.IServices): Promise<soap.Server> {
  return new Promise((resolve, reject) => {
    const options = {
      path,
      services,
      xml,
      // Keep xsi:nil visible (as null) so it can be refused; keep xs:int text raw so it can be validated strictly.
      handleNilAsNull: true,
      customDeserializer: { int: (text: string) => text },
      suppressStack: true,
      enableChunkedEncoding: false,
      callback: (err: unknown) => {
        if (err) reject(err instanceof Error ? err : new Error('WSDL load failed'));
        else resolve(server);
      },
    };
    const server = soap.listen(null, options as soap.IServerOptions);
  });
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) =>
    c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : c === '"' ? '&quot;' : '&apos;',
  );
}

/**
 * A SOAP 1.1 fault envelope written by hand, for requests node-soap could not dispatch
 * (malformed XML, unknown SOAPAction). Same shape node-soap renders for handler faults.
 */
export function renderFault(faultcode: string, faultstring: string, detailXml = ''): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>' +
    `<faultcode>${escapeXml(faultcode)}</faultcode><faultstring>${escapeXml(faultstring)}</faultstring>` +
    (detailXml ? `<detail>${detailXml}</detail>` : '') +
    '</soap:Fault></soap:Body></soap:Envelope>'
  );
}

export { escapeXml };

/** How a request element was found in node-soap's parsed arguments. */
export type ElementProblem = 'missing' | 'nil' | 'unexpected' | 'order' | 'structure';

export class ElementError {
  constructor(
    readonly element: string,
    readonly problem: ElementProblem,
  ) {}
}

/**
 * Reads the child elements of a request element, strictly: `fields` in WSDL order; every
 * element not in `optional` present; each at most once, in order, as plain text; no xsi:nil;
 * no unknown element. Absent optional elements (minOccurs=0) read as ''. Throws ElementError.
 */
export function readElements(
  args: unknown,
  fields: readonly string[],
  optional: ReadonlySet<string> = NONE,
  container = 'request',
): Record<string, string> {
  const out: Record<string, string> = {};
  if (args === null || args === undefined) {
    for (const f of fields) {
      if (!optional.has(f)) throw new ElementError(f, 'missing');
      out[f] = '';
    }
    return out;
  }
  if (typeof args !== 'object' || Array.isArray(args)) throw new ElementError(container, 'structure');
  const obj = args as Record<string, unknown>;
  let last = -1;
  for (const k in obj) {
    if (k === 'attributes') continue;
    const idx = fields.indexOf(k);
    if (idx < 0) throw new ElementError(k, 'unexpected');
    if (idx < last) throw new ElementError(k, 'order');
    last = idx;
  }
  for (const f of fields) {
    const v = obj[f];
    if (v === undefined) {
      if (!optional.has(f)) throw new ElementError(f, 'missing');
      out[f] = '';
    } else if (v === null) {
      throw new ElementError(f, 'nil');
    } else if (typeof v !== 'string') {
      throw new ElementError(f, 'structure');
    } else {
      out[f] = v;
    }
  }
  return out;
}

const NONE: ReadonlySet<string> = new Set();

/** Reads one complex child element (e.g. CRM `Customer`): must be present, not nil, an element (possibly empty). */
export function readChild(args: Record<string, unknown>, name: string): unknown {
  const v = args[name];
  if (v === undefined) throw new ElementError(name, 'missing');
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new ElementError(name, 'structure');
  return v;
}
