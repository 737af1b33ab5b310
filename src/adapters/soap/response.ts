// Response parsing with fast-xml-parser (NODE-SOAP-NOTES.md § Results): text stays text
// (leading zeros kept), namespace prefixes removed, text trimmed like node-soap, list
// elements (maxOccurs unbounded in the WSDL) always arrays, faults read by local name.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { decodeXmlEntities, parseSimpleXml } from './fast-xml.ts';
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

/** Options of the response parser. */
export interface ResponseParserOptions {
  /**
   * Also run fast-xml-parser's validator (catches mismatched tags; ~30% of parse cost) when a
   * reply needs the full parser. Default true. Replies the purpose-built reader accepts
   * (fast-xml.ts) are well-formed by construction and skip it either way.
   */
  validate?: boolean;
}

/**
 * Builds the parser for a service's operations once. `parse(op, xml)` returns the content of
 * the operation's response element or the fault; anything else → MalformedResponse.
 */
export function createResponseParser(operations: Iterable<OperationSpec>, options: ResponseParserOptions = {}) {
  const listPaths = new Set<string>();
  for (const op of operations) for (const p of op.listPaths) listPaths.add(p);
  const validate = options.validate ?? true;
  const isList = (path: string): boolean => listPaths.has(path);
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
  });

  return function parse(op: OperationSpec, xml: string): SoapReply {
    const text = xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml;
    if (text.includes('<!DOCTYPE') || text.includes('<!ENTITY')) throw new MalformedResponse('DTD not allowed');
    // Cheap guard against truncation even when full validation is off.
    if (!/Envelope\s*>\s*$/.test(text)) throw new MalformedResponse('not a complete SOAP envelope');
    // The purpose-built reader handles every reply the contract describes and checks that it is
    // well-formed on the way; anything else takes the full validator + parser path below.
    let doc: unknown = parseSimpleXml(text, isList);
    if (doc === undefined) {
      if (validate && XMLValidator.validate(text) !== true) throw new MalformedResponse('not well-formed XML');
      try {
        doc = parser.parse(text);
      } catch {
        throw new MalformedResponse('not well-formed XML');
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
