// Response parsing with fast-xml-parser (NODE-SOAP-NOTES.md § Results): text stays text
// (leading zeros kept), namespace prefixes removed, text trimmed like node-soap, list
// elements (maxOccurs unbounded in the WSDL) always arrays, faults read by local name.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { compileListPaths, decodeXmlEntities, isJsSpace, MAX_XML_DEPTH, parseSimpleXml, XmlTooDeep } from './fast-xml.ts';
import type { OperationSpec } from './wsdl.ts';

/** A SOAP 1.1 fault with `faultcode` reduced to its local name (`Server`, `Client`, …). */
export interface SoapFault {
  faultcode: string;
  faultstring: string;
  detail: unknown;
}

export type SoapReply =
  | { kind: 'body'; body: Record<string, unknown> }
  | { kind: 'fault'; fault: SoapFault };

/** The payload is not a SOAP envelope we can read (HTML page, truncated XML, DTD, …). */
export class MalformedResponse extends Error {
  constructor(readonly reason: string) {
    super(`malformed SOAP response: ${reason}`);
    this.name = 'MalformedResponse';
  }
}

function localName(qname: string): string {
  const i = qname.indexOf(':');
  return i === -1 ? qname : qname.slice(i + 1);
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/**
 * Estimates element depth in one pass: `<name` opens, `</` and `/>` close; comments, CDATA,
 * PIs and declarations are skipped. An early, cheap refusal only: an attribute value holding
 * `>` can fool it, and the full parser's own `maxNestedTags` is the backstop.
 */
function nestingExceeds(xml: string, maxDepth: number): boolean {
  let depth = 0;
  let i = xml.indexOf('<');
  while (i !== -1) {
    const c = xml.charCodeAt(i + 1);
    if (c === 0x2f /* / */) {
      depth--;
    } else if (c === 0x21 /* ! */ || c === 0x3f /* ? */) {
      const end = xml.startsWith('<!--', i) ? xml.indexOf('-->', i) : xml.startsWith('<![CDATA[', i) ? xml.indexOf(']]>', i) : xml.indexOf('>', i);
      if (end === -1) return false; // not well-formed: the validator says so
      i = xml.indexOf('<', end);
      continue;
    } else {
      const gt = xml.indexOf('>', i);
      if (gt === -1) return false;
      if (xml.charCodeAt(gt - 1) !== 0x2f /* / */ && ++depth > maxDepth) return true;
      i = xml.indexOf('<', gt);
      continue;
    }
    i = xml.indexOf('<', i + 1);
  }
  return false;
}

/** True when `xml` holds `<!DOCTYPE` or `<!ENTITY` anywhere: one pass over the `<!` in it, not two searches. */
function hasDtd(xml: string): boolean {
  for (let i = xml.indexOf('<!'); i !== -1; i = xml.indexOf('<!', i + 2)) {
    if (xml.startsWith('DOCTYPE', i + 2) || xml.startsWith('ENTITY', i + 2)) return true;
  }
  return false;
}

/**
 * `/Envelope\s*>\s*$/.test(xml)` read from the end: the RegExp, anchored only at the end,
 * was tried at every `Envelope` of the document. `\s` is {@link isJsSpace}.
 */
function endsWithEnvelopeTag(xml: string): boolean {
  let i = xml.length;
  while (i > 0 && isJsSpace(xml.charCodeAt(i - 1))) i--;
  if (i === 0 || xml.charCodeAt(i - 1) !== 0x3e /* > */) return false;
  i--;
  while (i > 0 && isJsSpace(xml.charCodeAt(i - 1))) i--;
  return i >= 8 && xml.startsWith('Envelope', i - 8);
}

/** Options of the response parser. */
export interface ResponseParserOptions {
  /**
   * Also run fast-xml-parser's validator (catches mismatched tags; ~30% of parse cost) when a
   * reply needs the full parser. Default true. Replies the purpose-built reader accepts
   * (fast-xml.ts) are well-formed by construction and skip it either way.
   */
  validate?: boolean;
  /**
   * Deepest element nesting accepted (default {@link MAX_XML_DEPTH}); deeper → MalformedResponse.
   * Both readers stop at it, so a reply costs time linear in its size whatever its shape.
   */
  maxDepth?: number;
  /**
   * Largest reply (UTF-16 code units) the full validator + parser may read when the
   * purpose-built reader declines it (comments, CDATA, mixed content…; no recorded reply
   * does). fast-xml-parser costs several times the purpose-built reader (≈1 s per MB on a
   * loaded 2-core machine) and runs on the event loop; larger such replies → MalformedResponse.
   * Default {@link DEFAULT_MAX_FALLBACK_CHARS}.
   */
  maxFallbackChars?: number;
}

/** 256 Ki: far above any reply of the contract that the purpose-built reader would decline. */
export const DEFAULT_MAX_FALLBACK_CHARS = 256 * 1024;

/**
 * Builds the parser for a service's operations once. `parse(op, xml)` returns the content of
 * the operation's response element or the fault; anything else → MalformedResponse.
 */
export function createResponseParser(operations: Iterable<OperationSpec>, options: ResponseParserOptions = {}) {
  const listPaths = new Set<string>();
  for (const op of operations) for (const p of op.listPaths) listPaths.add(p);
  const validate = options.validate ?? true;
  const maxDepth = options.maxDepth ?? MAX_XML_DEPTH;
  const maxFallbackChars = options.maxFallbackChars ?? DEFAULT_MAX_FALLBACK_CHARS;
  const isList = (path: string): boolean => listPaths.has(path);
  const lists = compileListPaths(listPaths);
  const parser = new XMLParser({
    removeNSPrefix: true,
    ignoreAttributes: true,
    ignoreDeclaration: true,
    ignorePiTags: true,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    processEntities: false,
    htmlEntities: false,
    // one pass over the text, only when it holds an '&': fast-xml-parser's own numeric entity
    // support (htmlEntities) doubles parse time
    tagValueProcessor: (_tag: string, value: string) => decodeXmlEntities(value),
    isArray: (_name: string, jPath: unknown) => typeof jPath === 'string' && isList(jPath),
    // its path of each element grows with depth too: stop at the same depth as parseSimpleXml
    maxNestedTags: maxDepth,
  });

  return function parse(op: OperationSpec, xml: string): SoapReply {
    const text = xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml;
    if (hasDtd(text)) throw new MalformedResponse('DTD not allowed');
    // Cheap guard against truncation even when full validation is off.
    if (!endsWithEnvelopeTag(text)) throw new MalformedResponse('not a complete SOAP envelope');
    // The purpose-built reader handles every reply the contract describes and checks that it is
    // well-formed on the way; anything else takes the full validator + parser path below.
    let doc: unknown;
    try {
      doc = parseSimpleXml(text, lists, maxDepth);
    } catch (err) {
      if (err instanceof XmlTooDeep) throw new MalformedResponse(err.message);
      throw err;
    }
    if (doc === undefined) {
      if (text.length > maxFallbackChars) throw new MalformedResponse('outside the supported XML subset and too large for the full parser');
      // The full parser's own limit comes after the validator, which is linear but would
      // still walk a deep document to its end: a linear depth scan refuses it first.
      if (nestingExceeds(text, maxDepth)) throw new MalformedResponse(new XmlTooDeep(maxDepth).message);
      if (validate && XMLValidator.validate(text) !== true) throw new MalformedResponse('not well-formed XML');
      try {
        doc = parser.parse(text);
      } catch (err) {
        throw new MalformedResponse(err instanceof Error && /nested/i.test(err.message) ? new XmlTooDeep(maxDepth).message : 'not well-formed XML');
      }
    }
    const body = (doc as { Envelope?: { Body?: unknown } } | undefined)?.Envelope?.Body;
    if (typeof body !== 'object' || body === null) throw new MalformedResponse('no SOAP Body');
    const b = body as Record<string, unknown>;
    if ('Fault' in b) {
      const f = b.Fault;
      if (typeof f !== 'object' || f === null) throw new MalformedResponse('malformed Fault');
      const fault = f as Record<string, unknown>;
      return {
        kind: 'fault',
        fault: {
          faultcode: localName(asText(fault.faultcode)),
          faultstring: asText(fault.faultstring),
          detail: fault.detail,
        },
      };
    }
    const payload = b[op.responseElement];
    if (payload === '') return { kind: 'body', body: {} };
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      throw new MalformedResponse(`no ${op.responseElement}`);
    }
    return { kind: 'body', body: payload as Record<string, unknown> };
  };
}

export type ResponseParser = ReturnType<typeof createResponseParser>;
