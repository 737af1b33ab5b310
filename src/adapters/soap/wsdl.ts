// Startup-only WSDL reading (CONTRACT.md: "The WSDLs are the wire truth: element names,
// namespaces, order and SOAPAction are exactly as they say"). node-soap loads and resolves
// the WSDL once from a local file; per call we only use what is derived here.
import soap from 'soap';

/** One element of a request or response, in WSDL sequence order. */
export interface FieldSpec {
  name: string;
  /** maxOccurs="unbounded" (e.g. TERMINAL, Customer, Ref) */
  list: boolean;
  /** child elements of a complex type, in order; undefined for a simple type */
  children?: FieldSpec[];
}

/** What the lean client needs to call one operation. */
export interface OperationSpec {
  name: string;
  soapAction: string;
  /** target namespace of the request element (document/literal, elementFormDefault qualified) */
  namespace: string;
  requestElement: string;
  responseElement: string;
  input: FieldSpec[];
  output: FieldSpec[];
  /** dotted paths (from `Envelope`) of response elements that are lists, for the parser */
  listPaths: string[];
}

export interface ServiceSpec {
  namespace: string;
  operations: ReadonlyMap<string, OperationSpec>;
}

const META_KEYS = new Set(['targetNSAlias', 'targetNamespace']);

function fieldsOf(described: unknown): FieldSpec[] {
  if (typeof described !== 'object' || described === null) return [];
  const out: FieldSpec[] = [];
  for (const [key, value] of Object.entries(described as Record<string, unknown>)) {
    if (META_KEYS.has(key)) continue;
    const list = key.endsWith('[]');
    const name = list ? key.slice(0, -2) : key;
    const field: FieldSpec = { name, list };
    if (typeof value === 'object' && value !== null) field.children = fieldsOf(value);
    out.push(field);
  }
  return out;
}

function collectListPaths(fields: FieldSpec[], prefix: string, into: string[]): void {
  for (const f of fields) {
    const path = `${prefix}.${f.name}`;
    if (f.list) into.push(path);
    if (f.children) collectListPaths(f.children, path, into);
  }
}

interface BindingMethod {
  soapAction?: string;
  style?: string;
  input?: { $name?: string; targetNamespace?: string };
  output?: { $name?: string };
}

/**
 * Loads a WSDL from a local file (never the network) with node-soap and derives, per
 * operation, SOAPAction, namespace, request/response element names, element order and
 * which response elements are lists. Call once at startup.
 */
export async function loadServiceSpec(wsdlPath: string): Promise<ServiceSpec> {
  if (/^[a-z]+:\/\//i.test(wsdlPath)) throw new Error('WSDLs are read from local files only');
  const client = await soap.createClientAsync(wsdlPath);
  const definitions = client.wsdl.definitions as unknown as {
    $targetNamespace: string;
    bindings: Record<string, { methods: Record<string, BindingMethod> }>;
  };
  const described = client.describe() as Record<string, Record<string, Record<string, { input: unknown; output: unknown }>>>;
  const port = Object.values(Object.values(described)[0] ?? {})[0];
  const binding = Object.values(definitions.bindings)[0];
  if (!port || !binding) throw new Error(`WSDL ${wsdlPath} has no service port or binding`);

  const operations = new Map<string, OperationSpec>();
  for (const [name, io] of Object.entries(port)) {
    const method = binding.methods[name];
    if (!method?.input?.$name || !method.output?.$name) throw new Error(`WSDL operation ${name} has no binding`);
    if (method.style !== undefined && method.style !== 'document') throw new Error(`WSDL operation ${name} is not document/literal`);
    const input = fieldsOf(io.input);
    const output = fieldsOf(io.output);
    if (JSON.stringify(input).includes('"list":true')) throw new Error(`WSDL operation ${name}: list elements in requests are not supported`);
    const responseElement = method.output.$name;
    const listPaths: string[] = [];
    collectListPaths(output, `Envelope.Body.${responseElement}`, listPaths);
    operations.set(name, {
      name,
      soapAction: method.soapAction ?? name,
      namespace: method.input.targetNamespace ?? definitions.$targetNamespace,
      requestElement: method.input.$name,
      responseElement,
      input,
      output,
      listPaths,
    });
  }
  return { namespace: definitions.$targetNamespace, operations };
}
