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
  /** Journal outcome (RETURN_CODE, fault code…). */
  outcome: string;
  /** First request element found outside its required namespace (see namespaces.ts), or null. */
  namespaceError: string | null;
  /** A WS-Security header in the WSS 1.0 namespace was present. */
  wsseSecurity: boolean;
}

/** What a handler throws to answer with a SOAP 1.1 fault (HTTP 500). `detailXml` is raw, already escaped. */
export class SoapFault {
  constructor(
    readonly faultcode: 'soap:Client' | 'soap:Server',
    readonly faultstring: string,
    readonly detailXml = '',
  ) {}
}

/** An operation: reads node-soap's decoded request element and SOAP headers; returns the response element's content. */
export type OperationHandler = (args: unknown, soapHeaders: unknown, ctx: CallCtx) => ResponseContent;

/** Response content in WSDL order: text, nested records, lists (repeated elements); `{}` is an empty element. */
export interface ResponseContent {
  readonly [element: string]: string | number | ResponseContent | readonly ResponseContent[];
}

/** The part of node-soap's WSDL object the simulators use. */
export interface LoadedWsdl {
  /** Schema-aware request decoding (xs:int kept as text, xsi:nil as null); returns the Envelope's content. */
  xmlToObject(xml: string): unknown;
  /** The namespace declarations node-soap writes on its response envelopes. */
  xmlnsInEnvelope: string;
}

/**
 * Loads a WSDL with node-soap. The simulators use node-soap for the WSDL and for decoding
 * requests against its schema; responses are written by `renderResponse` below in the exact
 * shape node-soap's server writes them (byte-identical, see fixtures/samples), because
 * node-soap's schema-walking serializer dominated the per-call cost.
 */
export function loadWsdlDefinition(xml: string): Promise<LoadedWsdl> {
  return new Promise((resolve, reject) => {
    const options = {
      // Keep xsi:nil visible (as null) so it can be refused; keep xs:int text raw so it can be validated strictly.
      handleNilAsNull: true,
      customDeserializer: { int: (text: string) => text },
    };
    const wsdl = new soap.WSDL(xml, '', options as soap.IOptions);
    wsdl.onReady((err: unknown) => {
      if (err) reject(err instanceof Error ? err : new Error('WSDL load failed'));
      else resolve(wsdl as unknown as LoadedWsdl);
    });
  });
}

const ENVELOPE_OPEN = '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ';

function escapeXml(s: string): string {
  if (!/[&<>"'\t\r\n]/.test(s)) return s;
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#x9;')
    .replace(/\r/g, '&#xD;')
    .replace(/\n/g, '&#xA;');
}

export { escapeXml };

function writeContent(content: ResponseContent, out: string[]): void {
  for (const name in content) {
    const v = content[name];
    if (v === undefined) continue;
    if (typeof v === 'string') out.push(`<${name}>`, escapeXml(v), `</${name}>`);
    else if (typeof v === 'number') out.push(`<${name}>`, String(v), `</${name}>`);
    else if (Array.isArray(v)) {
      for (const item of v as readonly ResponseContent[]) {
        out.push(`<${name}>`);
        writeContent(item, out);
        out.push(`</${name}>`);
      }
    } else {
      out.push(`<${name}>`);
      writeContent(v as ResponseContent, out);
      out.push(`</${name}>`);
    }
  }
}

/** `<soap:Envelope …><soap:Body><{op}Response xmlns="{ns}">…</{op}Response></soap:Body></soap:Envelope>` */
export function renderResponse(wsdl: LoadedWsdl, operation: string, ns: string, content: ResponseContent): string {
  const out = [ENVELOPE_OPEN, wsdl.xmlnsInEnvelope, '><soap:Body><', operation, 'Response xmlns="', ns, '">'];
  writeContent(content, out);
  out.push('</', operation, 'Response></soap:Body></soap:Envelope>');
  return out.join('');
}

/** A SOAP 1.1 fault envelope, as node-soap's server writes one. */
export function renderFault(wsdl: LoadedWsdl, fault: SoapFault): string {
  return (
    `${ENVELOPE_OPEN}${wsdl.xmlnsInEnvelope}><soap:Body><soap:Fault>` +
    `<faultcode>${fault.faultcode}</faultcode><faultstring>${escapeXml(fault.faultstring)}</faultstring>` +
    (fault.detailXml ? `<detail>${fault.detailXml}</detail>` : '') +
    '</soap:Fault></soap:Body></soap:Envelope>'
  );
}

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
