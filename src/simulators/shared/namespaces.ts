/**
 * node-soap's server ignores namespaces when it reads a request, but the real systems do not:
 * the WSDLs are `elementFormDefault="qualified"`, so the operation element and every element
 * below it must be in the target namespace, and the envelope must be SOAP 1.1. This is a
 * small single-pass tag scanner (no full parse) that resolves prefixes and reports the first
 * element in the wrong namespace.
 */

export const SOAP11_ENV_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const WSSE_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';

export interface NamespaceReport {
  /** Local name of the first element in the wrong namespace, or null when all is well. */
  wrongElement: string | null;
  /** The WS-Security header element was found in the WSS 1.0 secext namespace. */
  wsseSecurity: boolean;
}

const TAG = /<(\/?)(?:([A-Za-z_][\w.-]*):)?([A-Za-z_][\w.-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g;
const XMLNS_ATTR = /\sxmlns(?::([A-Za-z_][\w.-]*))?\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

interface Frame {
  scope: Map<string, string>;
  name: string;
}

/** Scans a request envelope. Unparseable input reports nothing (node-soap rejects it anyway). */
export function scanNamespaces(xml: string, targetNs: string): NamespaceReport {
  const report: NamespaceReport = { wrongElement: null, wsseSecurity: false };
  const stack: Frame[] = [];
  // Skip the XML declaration, comments and processing instructions by only matching element tags.
  TAG.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = TAG.exec(xml)) !== null) {
    const [, closing, prefix = '', local = '', attrs = '', selfClosing] = m;
    if (closing) {
      stack.pop();
      continue;
    }
    const parent = stack[stack.length - 1];
    let scope = parent?.scope ?? new Map<string, string>();
    if (attrs.includes('xmlns')) {
      scope = new Map(scope);
      XMLNS_ATTR.lastIndex = 0;
      let a: RegExpExecArray | null;
      while ((a = XMLNS_ATTR.exec(attrs)) !== null) scope.set(a[1] ?? '', a[2] ?? a[3] ?? '');
    }
    const ns = scope.get(prefix) ?? '';
    const depth = stack.length; // 0 Envelope, 1 Header/Body, 2 operation / header entries
    if (report.wrongElement === null) {
      if (depth <= 1) {
        if (ns !== SOAP11_ENV_NS) report.wrongElement = local;
      } else if (stack[1]?.name === 'Body') {
        if (ns !== targetNs) report.wrongElement = local;
      } else if (depth === 2 && stack[1]?.name === 'Header' && local === 'Security' && ns === WSSE_NS) {
        report.wsseSecurity = true;
      }
    }
    if (!selfClosing) stack.push({ scope, name: local });
  }
  return report;
}
