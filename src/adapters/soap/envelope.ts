// Request envelopes from precompiled string templates (NODE-SOAP-NOTES.md § Requests):
// elements in WSDL order, `''` for no value (never omitted, never xsi:nil), unknown keys
// never sent. Same shape node-soap writes, without walking the WSDL on every call.
import type { FieldSpec, OperationSpec } from './wsdl.ts';

/** Request values: element name → text (numbers are written as text) or nested element. */
export interface RequestValues {
  readonly [element: string]: string | number | RequestValues | undefined;
}

export const SOAP_ENV_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

const NEEDS_ESCAPE = /[&<>"'\t\n\r]/;
// XML 1.0 forbids these characters outright; they cannot be escaped, only dropped.
const XML_INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Escapes text content the way node-soap does (`& < > " '` and tab/CR/LF as character references). */
export function xmlEscape(value: string): string {
  const clean = value.replace(XML_INVALID, '');
  if (!NEEDS_ESCAPE.test(clean)) return clean;
  return clean
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#x9;')
    .replace(/\n/g, '&#xA;')
    .replace(/\r/g, '&#xD;');
}

type Part = string | { path: readonly string[] };

function compileFields(fields: FieldSpec[], path: readonly string[], parts: Part[]): void {
  for (const f of fields) {
    const p = [...path, f.name];
    if (f.children) {
      parts.push(`<${f.name}>`);
      compileFields(f.children, p, parts);
      parts.push(`</${f.name}>`);
    } else {
      parts.push(`<${f.name}>`, { path: p }, `</${f.name}>`);
    }
  }
}

function valueAt(values: RequestValues, path: readonly string[]): string {
  let cur: RequestValues | string | number | undefined = values;
  for (const key of path) {
    if (typeof cur !== 'object') return '';
    cur = cur[key];
  }
  if (cur === undefined) return '';
  if (typeof cur === 'object') throw new TypeError(`request value ${path.join('.')} must be text`);
  return xmlEscape(String(cur));
}

/** Builds one operation's envelope; `header` is raw XML for `soap:Header` (already escaped). */
export type EnvelopeBuilder = (values: RequestValues, header?: string) => string;

/** Compiles an operation's request into a template once; the returned builder only concatenates. */
export function compileEnvelope(op: OperationSpec): EnvelopeBuilder {
  const parts: Part[] = [];
  compileFields(op.input, [], parts);
  // Merge adjacent static strings so a call does as few concatenations as possible.
  const merged: Part[] = [];
  for (const p of parts) {
    const last = merged[merged.length - 1];
    if (typeof p === 'string' && typeof last === 'string') merged[merged.length - 1] = last + p;
    else merged.push(p);
  }
  const head =
    `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${SOAP_ENV_NS}" xmlns:xsi="${XSI_NS}" xmlns:tns="${xmlEscape(op.namespace)}">`;
  const bodyOpen = `<soap:Body><${op.requestElement} xmlns="${xmlEscape(op.namespace)}">`;
  const tail = `</${op.requestElement}></soap:Body></soap:Envelope>`;
  return (values, header) => {
    let out = header === undefined ? head + bodyOpen : `${head}<soap:Header>${header}</soap:Header>${bodyOpen}`;
    for (const part of merged) out += typeof part === 'string' ? part : valueAt(values, part.path);
    return out + tail;
  };
}
