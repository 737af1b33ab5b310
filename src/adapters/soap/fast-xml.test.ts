import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { compileListPaths, decodeXmlEntities, isJsSpace, MAX_XML_DEPTH, parseSimpleXml, XmlTooDeep } from './fast-xml.ts';
import { createResponseParser } from './response.ts';
import { loadServiceSpec } from './wsdl.ts';
import { CRM_WSDL, TMO_WSDL } from './testing/options.ts';

const tmo = await loadServiceSpec(TMO_WSDL);
const crm = await loadServiceSpec(CRM_WSDL);
const listPaths = new Set([...tmo.operations.values(), ...crm.operations.values()].flatMap((op) => op.listPaths));
const isList = (p: string) => listPaths.has(p);

// The reference: response.ts's fast-xml-parser configuration, verbatim.
const reference = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: false,
  htmlEntities: false,
  tagValueProcessor: (_tag: string, value: string) => decodeXmlEntities(value),
  isArray: (_name: string, jPath: unknown) => typeof jPath === 'string' && isList(jPath),
});

const samples = (['tmo', 'crm'] as const).flatMap((system) => {
  const dir = join('fixtures/samples', system);
  return readdirSync(dir)
    .map((name) => ({ name: `${system}/${name}`, xml: readFileSync(join(dir, name, 'response.xml'), 'utf8') }))
    .filter((s) => s.xml.trim() !== '');
});

const envelope = (body: string) =>
  `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>${body}</soap:Body></soap:Envelope>`;

describe('parseSimpleXml', () => {
  it.each(samples.map((s) => [s.name, s.xml]))('when it reads the recorded reply %s, then it equals fast-xml-parser', (_name, xml) => {
    const fast = parseSimpleXml(xml, isList);
    expect(fast).toBeDefined();
    expect(fast).toEqual(reference.parse(xml));
  });

  it('when every recorded reply of both systems is read, then the purpose-built reader takes each one (none falls back)', () => {
    expect(new Set(samples.map((s) => s.name.split('/')[0]))).toEqual(new Set(['tmo', 'crm']));
    expect(samples.length).toBeGreaterThan(20);
    const fellBack = samples.filter((s) => parseSimpleXml(s.xml, isList) === undefined).map((s) => s.name);
    expect(fellBack).toEqual([]);
  });

  it.each([
    ['entities and character references', envelope('<R xmlns="urn:x"><A> a &amp; b &lt;c&gt; &#233;&#x4E2D; &quot;&apos; </A><B>&unknown; &amp</B></R>')],
    ['empty, self-closing and whitespace-only leaves', envelope('<R><A></A><B/><C>   </C><D attr="1" /></R>')],
    ['repeated siblings become arrays', envelope('<R><X>1</X><X>2</X><X>3</X><Y>only</Y></R>')],
    ['a listed element with one item is an array', envelope('<tns:ListTerminalsResponse xmlns:tns="urn:legacy:tmo:v3"><tns:RETURN_CODE>00</tns:RETURN_CODE><tns:TERMINALS><tns:TERMINAL><tns:TID>T1</tns:TID></tns:TERMINAL></tns:TERMINALS></tns:ListTerminalsResponse>')],
    ['a listed element with no items', envelope('<ListTerminalsResponse><TERMINALS></TERMINALS></ListTerminalsResponse>')],
    ['whitespace and newlines between elements', `<?xml version="1.0"?>\n<soap:Envelope xmlns:soap="s">\n  <soap:Body>\n    <R>\n      <A>x</A>\n    </R>\n  </soap:Body>\n</soap:Envelope>\n`],
    ['attributes with both quotes and spaces around =', envelope(`<R a = "1" b='2'><A c="&gt;">v</A></R>`)],
    ['end tags with trailing whitespace', envelope('<R><A>v</A   ></R >')],
    ['non-breaking and other unicode space trimmed like String.trim', envelope('<R><A>\u00a0v\u00a0</A></R>')],
    ['a leading byte-order-free document without declaration', '<Envelope><Body><R><A>1</A></R></Body></Envelope>'],
  ])('when the reply has %s, then it equals fast-xml-parser', (_label, xml) => {
    const fast = parseSimpleXml(xml, isList);
    expect(fast).toBeDefined();
    expect(fast).toEqual(reference.parse(xml));
  });

  it.each([
    ['a comment', envelope('<R><!-- c --><A>1</A></R>')],
    ['CDATA', envelope('<R><A><![CDATA[x]]></A></R>')],
    ['a DOCTYPE', `<!DOCTYPE x><Envelope/>`],
    ['a processing instruction', envelope('<R><?pi x?><A>1</A></R>')],
    ['mixed content', envelope('<R>text<A>1</A></R>')],
    ['text after a child', envelope('<R><A>1</A>tail</R>')],
    ['a mismatched end tag', envelope('<R><A>1</B></R>')],
    ['an end tag with another prefix', '<a:Envelope xmlns:a="x"></b:Envelope>'],
    ['a missing end tag (truncated)', envelope('<R><A>1</A>').replace('</soap:Envelope>', '')],
    ['two root elements', '<A>1</A><B>2</B>'],
    ['text outside the root', '<A>1</A>junk'],
    ['an attribute without a value', envelope('<R a><A>1</A></R>')],
    ['an unquoted attribute', envelope('<R a=1><A>1</A></R>')],
    ['a duplicate attribute', envelope('<R a="1" a="2"><A>1</A></R>')],
    ['attributes not separated by whitespace', envelope('<R a="1"b="2"><A>1</A></R>')],
    ['a < inside an attribute value', envelope('<R a="<"><A>1</A></R>')],
    ['a bad element name', envelope('<1R><A>1</A></1R>')],
    ['an element named __proto__', envelope('<R><__proto__>1</__proto__></R>')],
    ['an HTML page', '<html><body><h1>502 Bad Gateway</h1><hr></body></html>'],
    ['nothing at all', ''],
  ])('when the reply has %s, then it declines (the full parser decides)', (_label, xml) => {
    expect(parseSimpleXml(xml, isList)).toBeUndefined();
  });

  const nested = (depth: number, leaf = 'x') => '<E>'.repeat(depth) + leaf + '</E>'.repeat(depth);

  it('when elements nest exactly MAX_XML_DEPTH deep, then it reads them', () => {
    expect(parseSimpleXml(nested(MAX_XML_DEPTH), isList)).toBeDefined();
    expect(parseSimpleXml(nested(MAX_XML_DEPTH - 1, '<E/>'), isList)).toBeDefined();
  });

  it.each([
    ['an open element', nested(MAX_XML_DEPTH + 1)],
    ['a self-closing element', nested(MAX_XML_DEPTH, '<E/>')],
    ['a truncated deep document', '<E>'.repeat(100_000)],
  ])('when %s sits one level too deep, then it throws XmlTooDeep instead of declining', (_label, xml) => {
    expect(() => parseSimpleXml(xml, isList)).toThrow(XmlTooDeep);
  });
});

describe('createResponseParser with the purpose-built reader', () => {
  const parse = createResponseParser(tmo.operations.values());
  const op = tmo.operations.get('GetTerminal');
  if (!op) throw new Error('GetTerminal missing from the WSDL');

  it('when the reply is malformed in a way the reader declines, then the full path still reports it', () => {
    expect(() => parse(op, envelope('<GetTerminalResponse><A>1</B></GetTerminalResponse>'))).toThrow(/not well-formed/);
  });

  it.each([
    ['the purpose-built reader', 100_000, '<X>', ''],
    ['the full parser (a comment sends it there)', 1_000, '<X>', '<!-- c -->'],
    // the depth scan takes these for self-closing elements: the parser's own limit must hold
    ['the full parser, behind start tags the depth scan misreads', 1_000, '<X a="/>">', '<!-- c -->'],
  ])('when a reply read by %s nests %i deep, then it is refused as too deep', (_label, depth, open, prefix) => {
    const xml = envelope(`${prefix}<GetTerminalResponse>${open.repeat(depth)}${'</X>'.repeat(depth)}</GetTerminalResponse>`);
    expect(() => parse(op, xml)).toThrow(/nested deeper than 32/);
  });

  it('when a reply the reader declines is larger than the fallback cap, then it is refused without the full parser', () => {
    const small = createResponseParser(tmo.operations.values(), { maxFallbackChars: 1024 });
    const xml = envelope(`<!-- c --><GetTerminalResponse><RETURN_MSG>${'a'.repeat(2048)}</RETURN_MSG></GetTerminalResponse>`);
    expect(() => small(op, xml)).toThrow(/too large for the full parser/);
    expect(parse(op, xml)).toMatchObject({ kind: 'body' });
  });

  it('when the reply uses a comment (outside the reader), then the full parser reads it the same', () => {
    const xml = envelope('<!-- hi --><GetTerminalResponse><RETURN_CODE>00</RETURN_CODE></GetTerminalResponse>');
    expect(parse(op, xml)).toEqual({ kind: 'body', body: { RETURN_CODE: '00' } });
  });
});

describe('the reader without RegExp (issue 8): same answers as before', () => {
  it('when any UTF-16 code unit is tested, then isJsSpace agrees with String.prototype.trim and RegExp \\s', () => {
    const disagree: number[] = [];
    for (let c = 0; c <= 0xffff; c++) {
      const ch = String.fromCharCode(c);
      if (isJsSpace(c) !== (ch.trim() === '') || isJsSpace(c) !== /\s/.test(ch)) disagree.push(c);
    }
    expect(disagree).toEqual([]);
  });

  it('when a leaf is wrapped in any white-space code unit, then it is trimmed exactly like fast-xml-parser', () => {
    for (const c of [0x09, 0x0b, 0x0c, 0x1c, 0x85, 0xa0, 0x180e, 0x200b, 0x2028, 0x3000, 0xfeff]) {
      const ch = String.fromCharCode(c);
      const xml = envelope(`<R><A>${ch}v${ch}</A><B>${ch}</B></R>`);
      expect(parseSimpleXml(xml, isList)).toEqual(reference.parse(xml));
    }
  });

  const listed = compileListPaths(listPaths);
  it.each(samples.map((s) => [s.name, s.xml]))('when %s is read with compiled list paths, then it equals the isList function', (_name, xml) => {
    expect(parseSimpleXml(xml, listed)).toEqual(parseSimpleXml(xml, isList));
  });

  it.each([
    ['a listed element', ['R.X'], '<R><X>1</X><Y>2</Y></R>'],
    ['a listed element below an unlisted one', ['R.A.B'], '<R><A><B>1</B></A><A2><B>2</B></A2></R>'],
    ['a local name holding dots that spells a listed path', ['R.a.b'], '<R><a.b>1</a.b></R>'],
    ['dots split across elements', ['R.a.b.c'], '<R><a.b><c>1</c></a.b><a><b.c>2</b.c></a></R>'],
    ['a name ending with a dot', ['R.a..b'], '<R><a.><b>1</b></a.></R>'],
    ['prefixed names', ['R.X'], '<p:R xmlns:p="u"><p:X>1</p:X><q:X>2</q:X></p:R>'],
    ['a listed self-closing element', ['R.X'], '<R><X/></R>'],
    ['a listed root', ['R'], '<R><X>1</X></R>'],
  ])('when %s is read with compiled list paths, then it equals the isList function', (_label, paths, xml) => {
    const set = new Set(paths);
    expect(parseSimpleXml(xml, compileListPaths(paths))).toEqual(parseSimpleXml(xml, (p) => set.has(p)));
    expect(parseSimpleXml(xml, compileListPaths(paths))).toBeDefined();
  });
});

describe('createResponseParser’s early checks without RegExp (issue 8)', () => {
  const parse = createResponseParser(tmo.operations.values());
  const op = tmo.operations.get('GetTerminal');
  if (!op) throw new Error('GetTerminal missing from the WSDL');
  const reason = (xml: string): string => {
    try {
      parse(op, xml);
      return 'ok';
    } catch (err) {
      return (err as Error).message;
    }
  };
  const body = '<soap:Envelope xmlns:soap="s"><soap:Body><GetTerminalResponse><RETURN_CODE>00</RETURN_CODE></GetTerminalResponse></soap:Body>';

  it.each([
    '</soap:Envelope>', '</soap:Envelope >', '</soap:Envelope>\n', '</soap:Envelope\u00a0>\u2028', '</soap:Envelope>\ufeff', '</soap:Envelope>\u0085',
    '</soap:Envelope>x', '</soap:Envelope', '</soap:Envelope>>', '</soap:Envelop>', '</soap:xEnvelope>', '</soap:Envelope>\u200b', '',
  ])('when the reply ends with %j, then the truncation guard answers as /Envelope\\s*>\\s*$/ does', (tail) => {
    const xml = body + tail;
    const complete = /Envelope\s*>\s*$/.test(xml);
    expect(reason(xml) === 'malformed SOAP response: not a complete SOAP envelope').toBe(!complete);
  });

  it.each([
    ['a DOCTYPE first', '<!DOCTYPE x [<!ENTITY a "b">]>', ''],
    ['an ENTITY alone', '<!ENTITY a "b">', ''],
    ['a DOCTYPE after another <!', '<!-- c --><!<!DOCTYPE x>', ''],
    ['a DOCTYPE inside the declaration', '', ''],
    ['a DOCTYPE in an attribute value', '', ' a="<!DOCTYPE"'],
  ])('when the reply holds %s, then it is refused as a DTD', (_label, prefix, attr) => {
    const decl = _label.includes('declaration') ? '<?xml version="1.0" <!DOCTYPE x ?>' : '';
    const xml = `${decl}${prefix}<soap:Envelope xmlns:soap="s"${attr}><soap:Body><R/></soap:Body></soap:Envelope>`;
    expect(reason(xml)).toBe('malformed SOAP response: DTD not allowed');
  });

  it('when the reply holds <! without DOCTYPE or ENTITY, then it is not taken for a DTD', () => {
    expect(reason(envelope('<!-- <!DOCTYP --><GetTerminalResponse><RETURN_CODE>00</RETURN_CODE></GetTerminalResponse>'))).toBe('ok');
  });
});

describe('the reader’s cache of element names (issue 8)', () => {
  it('when replies use more names than the cache holds, long names and names differing in one character, then every read equals fast-xml-parser', () => {
    const names = [
      ...Array.from({ length: 1500 }, (_, k) => `N${k}`),
      ...Array.from({ length: 40 }, (_, k) => `${'L'.repeat(60 + k)}x`),
      'Ab', 'Ba', 'aB', 'A_b', 'A-b', 'A.b',
    ];
    const xml = envelope(`<R>${names.map((n, k) => `<p:${n}>${k}</p:${n}><${n}>${k}</${n}>`).join('')}</R>`);
    for (let round = 0; round < 3; round++) {
      expect(parseSimpleXml(xml, isList)).toEqual(reference.parse(xml));
      expect(parseSimpleXml(xml, compileListPaths(listPaths))).toEqual(reference.parse(xml));
    }
  });

  it.each([
    ['an end tag that goes on after the start tag’s name', '<R><Ab>1</Abc></R>'],
    ['an end tag that adds a prefix', '<R><Ab>1</Ab:c></R>'],
    ['an end tag that drops the prefix', '<R><p:Ab>1</Ab></R>'],
    ['an end tag that is a prefix of the name', '<R><Abc>1</Ab></R>'],
    // end tags compared code unit by code unit with the start tag's name, not with `startsWith`
    ['an end tag with another prefix of the same length', '<R><p:Abc>1</q:Abc></R>'],
    ['an end tag differing in its last character', '<R><p:Abc>1</p:Abd></R>'],
    ['an end tag cut short by the end of the document', '<R><Abc>1</Ab'],
  ])('when %s, then it still declines', (_label, xml) => {
    expect(parseSimpleXml('<R><Abc>1</Abc></R>', isList)).toBeDefined(); // the name is cached first
    expect(parseSimpleXml(xml, isList)).toBeUndefined();
  });

  it('when two names of the same length hash alike (Abc, BCc: same cache slot), then each keeps its own name', () => {
    const xml = '<R><Abc>1</Abc><BCc>2</BCc><p:Abc>3</p:Abc><BCc>4</BCc></R>';
    expect(parseSimpleXml(xml, isList)).toEqual({ R: { Abc: ['1', '3'], BCc: ['2', '4'] } });
    expect(parseSimpleXml(xml, isList)).toEqual(reference.parse(xml));
  });
});
