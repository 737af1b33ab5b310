// A purpose-built reader for the XML our legacy replies are made of: elements, attributes
// (skipped), text in leaves, nothing else. Validating and parsing with fast-xml-parser cost
// ~70 µs of a gateway GET's CPU (bench/facade); this single pass costs a fraction of that.
// It produces exactly what response.ts's fast-xml-parser configuration produces (namespace
// prefixes removed, text trimmed then entity-decoded, repeated or listed elements as arrays,
// empty elements as ''), and it is strict: anything outside that subset — comments, CDATA,
// processing instructions, DOCTYPE, mixed content, a bad name, a mismatched or missing end
// tag — returns `undefined`, and the caller falls back to the full validator and parser, which
// then decide (so malformed replies keep failing exactly as before). One exception: an element
// nested deeper than `maxDepth` throws XmlTooDeep at once — no fallback — because no legacy
// reply comes anywhere near it and a deep document is the one input whose cost grows faster
// than its size (each element's path string is as long as its depth).

const NAME = /[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?/y;
const ENTITY = /&(amp|lt|gt|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});/g;
const NAMED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
// Keys that would reach Object.prototype through a plain-object assignment.
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Decodes the five XML entities and numeric references; leaves anything else as written. */
export function decodeXmlEntities(value: string): string {
  if (value.indexOf('&') === -1) return value;
  return value.replace(ENTITY, (_m, e: string) => {
    const named = NAMED[e];
    if (named !== undefined) return named;
    return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}

/** Deepest element nesting the readers accept; the WSDLs' replies stay under 10. */
export const MAX_XML_DEPTH = 32;

/** A document nests elements deeper than allowed: a contract violation, never parsed further. */
export class XmlTooDeep extends Error {
  constructor(readonly maxDepth: number) {
    super(`elements nested deeper than ${maxDepth}`);
    this.name = 'XmlTooDeep';
  }
}

interface Frame {
  /** qualified name as written, to match the end tag */
  raw: string;
  /** dotted path of local names from the root, for `isList` */
  path: string;
  children: Record<string, unknown> | undefined;
  /** text of a leaf (undefined until some is seen) */
  text: string | undefined;
  /** non-whitespace text was seen next to child elements */
  mixed: boolean;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function localName(qname: string): string {
  const i = qname.indexOf(':');
  return i === -1 ? qname : qname.slice(i + 1);
}

function attach(parent: Record<string, unknown>, key: string, value: unknown, path: string, isList: (path: string) => boolean): void {
  if (Object.prototype.hasOwnProperty.call(parent, key)) {
    const existing = parent[key];
    if (Array.isArray(existing)) existing.push(value);
    else parent[key] = [existing, value];
  } else {
    parent[key] = isList(path) ? [value] : value;
  }
}

/**
 * Parses `xml` (one root element, optional leading `<?xml …?>`) into plain objects keyed by
 * local name, or returns `undefined` when the document is outside the supported subset or not
 * well-formed. `isList(path)` (dotted local names from the root) marks elements that are
 * always arrays. Linear in the document's size: nesting is capped at `maxDepth` (default
 * {@link MAX_XML_DEPTH}).
 * @throws {XmlTooDeep} as soon as an element opens deeper than `maxDepth`
 */
export function parseSimpleXml(
  xml: string,
  isList: (path: string) => boolean,
  maxDepth: number = MAX_XML_DEPTH,
): Record<string, unknown> | undefined {
  const n = xml.length;
  let i = 0;
  while (i < n && isSpace(xml.charCodeAt(i))) i++;
  if (xml.startsWith('<?xml', i) && isSpace(xml.charCodeAt(i + 5))) {
    const end = xml.indexOf('?>', i + 5);
    if (end === -1) return undefined;
    i = end + 2;
  }
  const root: Record<string, unknown> = {};
  const stack: Frame[] = [];
  let rootSeen = false;

  while (i < n) {
    const lt = xml.indexOf('<', i);
    // Text up to the next tag (or the end).
    const textEnd = lt === -1 ? n : lt;
    if (textEnd > i) {
      const segment = xml.slice(i, textEnd);
      const top = stack[stack.length - 1];
      if (top === undefined) {
        if (segment.trim() !== '') return undefined; // text outside the root
      } else if (top.children !== undefined) {
        if (segment.trim() !== '') top.mixed = true;
      } else {
        top.text = top.text === undefined ? segment : top.text + segment;
      }
    }
    if (lt === -1) break;
    i = lt + 1;
    const c = xml.charCodeAt(i);
    if (c === 0x21 /* ! */ || c === 0x3f /* ? */) return undefined; // comment, CDATA, DOCTYPE, PI

    if (c === 0x2f /* / */) {
      // End tag: must close the innermost open element, by the same qualified name.
      NAME.lastIndex = i + 1;
      const m = NAME.exec(xml);
      const top = stack.pop();
      if (m === null || top === undefined || m[0] !== top.raw) return undefined;
      i = NAME.lastIndex;
      while (i < n && isSpace(xml.charCodeAt(i))) i++;
      if (xml.charCodeAt(i) !== 0x3e /* > */) return undefined;
      i++;
      let value: unknown;
      if (top.children !== undefined) {
        if (top.mixed || (top.text !== undefined && top.text.trim() !== '')) return undefined;
        value = top.children;
      } else {
        const t = top.text === undefined ? '' : top.text.trim();
        value = t === '' ? '' : decodeXmlEntities(t);
      }
      const parent = stack[stack.length - 1];
      if (parent === undefined) {
        attach(root, localName(top.raw), value, top.path, isList);
      } else {
        if (parent.children === undefined) {
          // First child: any text before it must have been whitespace.
          if (parent.text !== undefined && parent.text.trim() !== '') return undefined;
          parent.text = undefined;
          parent.children = {};
        }
        attach(parent.children, localName(top.raw), value, top.path, isList);
      }
      continue;
    }

    // Start tag.
    NAME.lastIndex = i;
    const m = NAME.exec(xml);
    if (m === null) return undefined;
    const raw = m[0];
    const local = localName(raw);
    if (UNSAFE_KEYS.has(local)) return undefined;
    i = NAME.lastIndex;
    let selfClosing = false;
    let attrNames: string[] | undefined;
    for (;;) {
      const before = i;
      while (i < n && isSpace(xml.charCodeAt(i))) i++;
      const d = xml.charCodeAt(i);
      if (d === 0x3e /* > */) {
        i++;
        break;
      }
      if (d === 0x2f /* / */) {
        if (xml.charCodeAt(i + 1) !== 0x3e) return undefined;
        i += 2;
        selfClosing = true;
        break;
      }
      // An attribute: whitespace before it, name, '=', quoted value without '<'; names unique.
      if (i === before) return undefined;
      NAME.lastIndex = i;
      const a = NAME.exec(xml);
      if (a === null) return undefined;
      attrNames ??= [];
      if (attrNames.includes(a[0])) return undefined;
      attrNames.push(a[0]);
      i = NAME.lastIndex;
      while (i < n && isSpace(xml.charCodeAt(i))) i++;
      if (xml.charCodeAt(i) !== 0x3d /* = */) return undefined;
      i++;
      while (i < n && isSpace(xml.charCodeAt(i))) i++;
      const q = xml.charCodeAt(i);
      if (q !== 0x22 && q !== 0x27) return undefined;
      const close = xml.indexOf(q === 0x22 ? '"' : "'", i + 1);
      if (close === -1 || xml.slice(i + 1, close).includes('<')) return undefined;
      i = close + 1;
    }

    const parent = stack[stack.length - 1];
    if (parent === undefined) {
      if (rootSeen) return undefined; // a second root element
      rootSeen = true;
    } else if (parent.children === undefined) {
      if (parent.text !== undefined && parent.text.trim() !== '') return undefined; // mixed content
      parent.text = undefined;
      parent.children = {};
    }
    // this element sits at depth stack.length + 1
    if (stack.length >= maxDepth) throw new XmlTooDeep(maxDepth);
    const path = parent === undefined ? local : `${parent.path}.${local}`;
    if (selfClosing) {
      attach(parent === undefined ? root : (parent.children as Record<string, unknown>), local, '', path, isList);
    } else {
      stack.push({ raw, path, children: undefined, text: undefined, mixed: false });
    }
  }
  if (stack.length > 0 || !rootSeen) return undefined;
  return root;
}
