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

const ENTITY = /&(amp|lt|gt|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});/g;
const NAMED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

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

// Names are scanned by char code, not with a sticky RegExp: the regex, its match array and a
// substring per name were most of this reader's cost (issue 8, bench/facade/reply-path.ts).
// A name is `[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?`, matched greedily as that RegExp did.

function isNameStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
}

// 1 for `[\w.-]` below 0x80: one table load instead of six comparisons per character
const NAME_CHARS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  NAME_CHARS[c] = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2e || c === 0x2d ? 1 : 0;
}

function isNameChar(c: number): boolean {
  return c < 128 && NAME_CHARS[c] === 1;
}

/** Position of the colon of the last name {@link scanName} read, or -1. */
let nameColon = -1;
/** Hash of the local part (after the colon, if any) of the last name {@link scanName} read (for {@link nameAt}). */
let nameHash = 0;

/** End of the name starting at `i` (`i` itself when none starts there); sets {@link nameColon} and {@link nameHash}. */
function scanName(xml: string, i: number, n: number): number {
  nameColon = -1;
  if (i >= n) return i;
  let c = xml.charCodeAt(i);
  if (!isNameStart(c)) return i;
  let h = c;
  let j = i + 1;
  while (j < n && isNameChar((c = xml.charCodeAt(j)))) {
    h = (Math.imul(h, 31) + c) | 0;
    j++;
  }
  if (j + 1 < n && c === 0x3a /* : */ && isNameStart(xml.charCodeAt(j + 1))) {
    nameColon = j;
    h = 0; // the hash is the local part's: a prefixed name's qualified form is never looked up
    j++;
    while (j < n && isNameChar((c = xml.charCodeAt(j)))) {
      h = (Math.imul(h, 31) + c) | 0;
      j++;
    }
  }
  nameHash = h;
  return j;
}

/**
 * Exactly the code units `String.prototype.trim` and RegExp `\s` treat as white space
 * (ECMAScript WhiteSpace and LineTerminator: Unicode Zs, TAB, VT, FF, BOM, LF, CR, LS, PS).
 * The test checks it against `trim()` for every UTF-16 code unit.
 */
export function isJsSpace(c: number): boolean {
  if (c < 0x80) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0x1680) return c === 0xa0;
  return (
    c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}

/** True when `xml[start, end)` is empty or white space only (`slice(start, end).trim() === ''`). */
function isBlank(xml: string, start: number, end: number): boolean {
  for (let k = start; k < end; k++) if (!isJsSpace(xml.charCodeAt(k))) return false;
  return true;
}


// Local names are handed out from a small cache of interned strings: a name sliced afresh from
// each reply is a new string that every property store and lookup must intern again (a
// string-table probe each); the same string each time lets V8's inline caches see one key.
// Only short names are kept, so a hostile reply cannot park large strings here.
const NAME_CACHE_SLOTS = 512; // a power of two
const NAME_CACHE_MAX_LENGTH = 64;
const nameCache: Array<string | undefined> = new Array<string | undefined>(NAME_CACHE_SLOTS).fill(undefined);

/**
 * `xml.slice(start, end)` (whose hash, `h = h * 31 + c` over its code units from 0, is `hash`),
 * as the cached interned string when there is one.
 */
function nameAt(xml: string, start: number, end: number, hash: number): string {
  const len = end - start;
  if (len > NAME_CACHE_MAX_LENGTH) return xml.slice(start, end);
  const slot = (hash ^ len) & (NAME_CACHE_SLOTS - 1);
  const cached = nameCache[slot];
  // compared code unit by code unit: `startsWith` was a builtin call per name, a quarter of the parse
  if (cached !== undefined && cached.length === len) {
    let k = 0;
    while (k < len && cached.charCodeAt(k) === xml.charCodeAt(start + k)) k++;
    if (k === len) return cached;
  }
  // a property key is interned: reading it back gives the interned string
  const name = Object.keys({ [xml.slice(start, end)]: 0 })[0] as string;
  nameCache[slot] = name;
  return name;
}

/** One step of {@link ListPaths}: the path so far is a list element, and the steps below it. */
interface ListStep {
  list: boolean;
  next: Map<string, ListStep>;
}

/**
 * List paths compiled for {@link parseSimpleXml}: a tree of their dot-separated steps, so an
 * element finds whether it is listed by one lookup of its local name under its parent's step,
 * instead of a dotted path string built and hashed per element. Elements outside every list
 * path's prefix carry no step and no lookup. Same answer as `paths.has(path)` for every path
 * (a local name holding dots walks one step per dot-separated part).
 */
export interface ListPaths {
  readonly root: ListStep;
}

/** Compiles dotted list paths (e.g. `Envelope.Body.ListTerminalsResponse.TERMINALS.TERMINAL`). */
export function compileListPaths(paths: Iterable<string>): ListPaths {
  const root: ListStep = { list: false, next: new Map() };
  for (const path of paths) {
    let step = root;
    for (const part of path.split('.')) {
      let next = step.next.get(part);
      if (next === undefined) {
        next = { list: false, next: new Map() };
        step.next.set(part, next);
      }
      step = next;
    }
    step.list = true;
  }
  return { root };
}

/** The step below `step` for the element `local`, or undefined when no list path goes there. */
function descend(step: ListStep | undefined, local: string): ListStep | undefined {
  if (step === undefined || step.next.size === 0) return undefined;
  if (local.indexOf('.') === -1) return step.next.get(local);
  let s: ListStep | undefined = step;
  for (const part of local.split('.')) {
    s = s.next.get(part);
    if (s === undefined) return undefined;
  }
  return s;
}

/** XML white space (S): the only space allowed inside tags and around the declaration. */
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** One open element. Frames are reused by depth: the reader allocates none per element. */
interface Frame {
  /** where the qualified name as written is in the document, to match the end tag against it */
  rawStart: number;
  rawEnd: number;
  /** the name has a prefix */
  prefixed: boolean;
  /** local name: the key in the parent */
  local: string;
  /** dotted path of local names from the root, for an `isList` function ('' with {@link ListPaths}) */
  path: string;
  /** with {@link ListPaths}: this element's step (undefined: not on any list path) */
  step: ListStep | undefined;
  children: Record<string, unknown> | undefined;
  /**
   * text of a leaf, `xml[textStart, textEnd)` (textStart -1 until some is seen). A leaf has at
   * most one text run: the next `<` either ends it, opens a child (then the run must be blank)
   * or is outside the subset.
   */
  textStart: number;
  textEnd: number;
  /** that text holds an `&` (entities to decode) */
  textAmp: boolean;
  /** non-whitespace text was seen next to child elements */
  mixed: boolean;
}

function attach(
  parent: Record<string, unknown>,
  key: string,
  value: unknown,
  path: string,
  step: ListStep | undefined,
  isList: ((path: string) => boolean) | undefined,
): void {
  if (Object.hasOwn(parent, key)) {
    const existing = parent[key];
    if (Array.isArray(existing)) existing.push(value);
    else parent[key] = [existing, value];
  } else {
    parent[key] = (isList === undefined ? step !== undefined && step.list : isList(path)) ? [value] : value;
  }
}

/** The parent's first child starts: text before it must have been white space. False → mixed content. */
function openChildren(parent: Frame, xml: string): boolean {
  if (parent.textStart !== -1 && !isBlank(xml, parent.textStart, parent.textEnd)) return false;
  parent.textStart = -1;
  parent.children = {};
  return true;
}

/** A leaf's value: its text trimmed like `String.prototype.trim`, then entity-decoded; none → ''. */
function leafValue(xml: string, frame: Frame): string {
  let s = frame.textStart;
  if (s === -1) return '';
  let e = frame.textEnd;
  while (s < e && isJsSpace(xml.charCodeAt(s))) s++;
  while (e > s && isJsSpace(xml.charCodeAt(e - 1))) e--;
  if (s === e) return '';
  return frame.textAmp ? decodeXmlEntities(xml.slice(s, e)) : xml.slice(s, e);
}

/**
 * Parses `xml` (one root element, optional leading `<?xml …?>`) into plain objects keyed by
 * local name, or returns `undefined` when the document is outside the supported subset or not
 * well-formed. `isList(path)` (dotted local names from the root) marks elements that are
 * always arrays; {@link compileListPaths} gives the same answers without a path per element. Linear in the document's size: nesting is capped at `maxDepth` (default
 * {@link MAX_XML_DEPTH}).
 * @throws {XmlTooDeep} as soon as an element opens deeper than `maxDepth`
 */
export function parseSimpleXml(
  xml: string,
  lists: ((path: string) => boolean) | ListPaths,
  maxDepth: number = MAX_XML_DEPTH,
): Record<string, unknown> | undefined {
  const isList = typeof lists === 'function' ? lists : undefined;
  const listRoot = typeof lists === 'function' ? undefined : lists.root;
  const n = xml.length;
  let i = 0;
  while (i < n && isSpace(xml.charCodeAt(i))) i++;
  if (xml.startsWith('<?xml', i) && isSpace(xml.charCodeAt(i + 5))) {
    const end = xml.indexOf('?>', i + 5);
    if (end === -1) return undefined;
    i = end + 2;
  }
  const root: Record<string, unknown> = {};
  const frames: Frame[] = [];
  let depth = 0; // open elements: frames[0 .. depth - 1]
  let rootSeen = false;

  while (i < n) {
    // Text up to the next tag (or the end), scanned here rather than by `indexOf` (a builtin
    // call per tag, for runs mostly a few characters long), noting any `&` on the way.
    let lt = i;
    let amp = false;
    for (;;) {
      if (lt === n) {
        lt = -1;
        break;
      }
      const t = xml.charCodeAt(lt);
      if (t === 0x3c /* < */) break;
      if (t === 0x26 /* & */) amp = true;
      lt++;
    }
    const textEnd = lt === -1 ? n : lt;
    if (textEnd > i) {
      if (depth === 0) {
        if (!isBlank(xml, i, textEnd)) return undefined; // text outside the root
      } else {
        const top = frames[depth - 1] as Frame;
        if (top.children !== undefined) {
          if (!top.mixed && !isBlank(xml, i, textEnd)) top.mixed = true;
        } else {
          top.textStart = i;
          top.textEnd = textEnd;
          top.textAmp = amp;
        }
      }
    }
    if (lt === -1) break;
    i = lt + 1;
    const c = xml.charCodeAt(i);
    if (c === 0x21 /* ! */ || c === 0x3f /* ? */) return undefined; // comment, CDATA, DOCTYPE, PI

    if (c === 0x2f /* / */) {
      // End tag: must close the innermost open element, by the same qualified name.
      if (depth === 0) return undefined;
      const top = frames[--depth] as Frame;
      // the name read greedily from i + 1 must be exactly the start tag's: it starts there and does not go on
      i++;
      for (let k = top.rawStart; k < top.rawEnd; k++, i++) if (xml.charCodeAt(i) !== xml.charCodeAt(k)) return undefined;
      const after = xml.charCodeAt(i);
      if (isNameChar(after) || (after === 0x3a /* : */ && !top.prefixed && isNameStart(xml.charCodeAt(i + 1)))) return undefined;
      while (i < n && isSpace(xml.charCodeAt(i))) i++;
      if (xml.charCodeAt(i) !== 0x3e /* > */) return undefined;
      i++;
      let value: unknown;
      if (top.children !== undefined) {
        if (top.mixed || (top.textStart !== -1 && !isBlank(xml, top.textStart, top.textEnd))) return undefined;
        value = top.children;
      } else {
        value = leafValue(xml, top);
      }
      if (depth === 0) {
        attach(root, top.local, value, top.path, top.step, isList);
      } else {
        const parent = frames[depth - 1] as Frame;
        if (parent.children === undefined && !openChildren(parent, xml)) return undefined;
        attach(parent.children as Record<string, unknown>, top.local, value, top.path, top.step, isList);
      }
      continue;
    }

    // Start tag.
    const nameStart = i;
    const nameEnd = scanName(xml, i, n);
    if (nameEnd === nameStart) return undefined;
    const prefixed = nameColon !== -1;
    const local = nameAt(xml, prefixed ? nameColon + 1 : nameStart, nameEnd, nameHash);
    // keys that would reach Object.prototype through a plain-object assignment
    if (local === '__proto__' || local === 'constructor' || local === 'prototype') return undefined;
    i = nameEnd;
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
      const attrEnd = scanName(xml, i, n);
      if (attrEnd === i) return undefined;
      const attr = xml.slice(i, attrEnd);
      attrNames ??= [];
      if (attrNames.includes(attr)) return undefined;
      attrNames.push(attr);
      i = attrEnd;
      while (i < n && isSpace(xml.charCodeAt(i))) i++;
      if (xml.charCodeAt(i) !== 0x3d /* = */) return undefined;
      i++;
      while (i < n && isSpace(xml.charCodeAt(i))) i++;
      const q = xml.charCodeAt(i);
      if (q !== 0x22 && q !== 0x27) return undefined;
      const close = xml.indexOf(q === 0x22 ? '"' : "'", i + 1);
      if (close === -1) return undefined;
      const ltInValue = xml.indexOf('<', i + 1);
      if (ltInValue !== -1 && ltInValue < close) return undefined;
      i = close + 1;
    }

    const parent = depth === 0 ? undefined : (frames[depth - 1] as Frame);
    if (parent === undefined) {
      if (rootSeen) return undefined; // a second root element
      rootSeen = true;
    } else if (parent.children === undefined && !openChildren(parent, xml)) {
      return undefined; // mixed content
    }
    // this element sits at depth + 1
    if (depth >= maxDepth) throw new XmlTooDeep(maxDepth);
    let path = '';
    let step: ListStep | undefined;
    if (isList !== undefined) path = parent === undefined ? local : `${parent.path}.${local}`;
    else step = descend(parent === undefined ? listRoot : parent.step, local);
    if (selfClosing) {
      attach(parent === undefined ? root : (parent.children as Record<string, unknown>), local, '', path, step, isList);
    } else {
      let frame = frames[depth];
      if (frame === undefined) {
        frame = {
          rawStart: nameStart,
          rawEnd: nameEnd,
          prefixed,
          local,
          path,
          step,
          children: undefined,
          textStart: -1,
          textEnd: -1,
          textAmp: false,
          mixed: false,
        };
        frames[depth] = frame;
      } else {
        frame.rawStart = nameStart;
        frame.rawEnd = nameEnd;
        frame.prefixed = prefixed;
        frame.local = local;
        frame.path = path;
        frame.step = step;
        frame.children = undefined;
        frame.textStart = -1;
        frame.textEnd = -1;
        frame.textAmp = false;
        frame.mixed = false;
      }
      depth++;
    }
  }
  if (depth > 0 || !rootSeen) return undefined;
  return root;
}
