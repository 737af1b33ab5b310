// Test helper: a namespace-resolved, order-preserving view of an XML document, so two
// envelopes compare equal when they mean the same (prefix choice and xmlns placement aside).
import { XMLParser } from 'fast-xml-parser';

export interface CanonicalNode {
  /** `{namespace-uri}local-name` */
  name: string;
  /** non-xmlns attributes, by resolved name */
  attributes: Record<string, string>;
  children: CanonicalNode[];
  text: string;
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  processEntities: true,
  htmlEntities: true,
});

type Raw = Record<string, unknown>;

function resolve(qname: string, scope: Map<string, string>, isAttribute: boolean): string {
  const i = qname.indexOf(':');
  const prefix = i === -1 ? '' : qname.slice(0, i);
  const local = i === -1 ? qname : qname.slice(i + 1);
  if (isAttribute && prefix === '') return local;
  const uri = scope.get(prefix);
  if (uri === undefined && prefix !== '') throw new Error(`unbound prefix ${prefix}`);
  return `{${uri ?? ''}}${local}`;
}

function convert(raw: Raw, parentScope: Map<string, string>): CanonicalNode {
  const tag = Object.keys(raw).find((k) => k !== ':@');
  if (tag === undefined) throw new Error('no tag');
  const attrs = (raw[':@'] ?? {}) as Record<string, string>;
  const scope = new Map(parentScope);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'xmlns') scope.set('', v);
    else if (k.startsWith('xmlns:')) scope.set(k.slice(6), v);
  }
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'xmlns' || k.startsWith('xmlns:')) continue;
    attributes[resolve(k, scope, true)] = v;
  }
  const children: CanonicalNode[] = [];
  let text = '';
  for (const child of raw[tag] as Raw[]) {
    if ('#text' in child) text += String(child['#text']);
    else children.push(convert(child, scope));
  }
  return { name: resolve(tag, scope, false), attributes, children, text: children.length > 0 ? text.trim() : text };
}

/** Parses `xml` into its canonical tree (the document element). */
export function canonicalXml(xml: string): CanonicalNode {
  const doc = parser.parse(xml) as Raw[];
  const root = doc.find((n) => !('#text' in n) && !('?xml' in n));
  if (!root) throw new Error('no document element');
  return convert(root, new Map());
}
