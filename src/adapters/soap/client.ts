// The lean, WSDL-driven SOAP client (docs/ARCHITECTURE.md): node-soap reads the WSDL once at
// startup; per call we fill a precompiled envelope, POST it over an undici keep-alive Pool and
// parse the reply with fast-xml-parser. node-soap's per-call cost (object→XML by walking the
// WSDL, axios, sax) is what this avoids; the conformance test proves the wire is the same.
import type { CallContext } from '../../domain/call-context.ts';
import { compileEnvelope, type EnvelopeBuilder, type RequestValues } from './envelope.ts';
import { httpStatusError, malformedError, transportError, type SoapSystem } from './http-faults.ts';
import { createResponseParser, MalformedResponse, type ResponseParser, type SoapReply } from './response.ts';
import type { Dispatcher } from 'undici';
import { createHttpTransport, TransportFailure, type HttpReply, type TransportTlsOptions } from './transport.ts';
import { loadServiceSpec, type OperationSpec, type ServiceSpec } from './wsdl.ts';

/** Options of the lean SOAP client. */
export interface SoapClientOptions {
  system: SoapSystem;
  /** local WSDL file (fixtures/…) */
  wsdlPath: string;
  endpoint: string;
  timeoutMs: number;
  /** keep-alive sockets: size to the bulkhead limit */
  maxSockets: number;
  /** response body cap; larger → TranslationError `<system>.response_too_large`. Default 5 MB. */
  maxResponseBytes?: number;
  /** extra HTTP headers on every call (e.g. Basic `Authorization`) */
  headers?: Readonly<Record<string, string>>;
  /** raw `soap:Header` content per call (e.g. WS-Security) */
  soapHeader?: (now: Date) => string;
  /** run the full XML validator on replies (default true) */
  validateXml?: boolean;
  /** TLS options for an `https:` endpoint (private CA, client certificate), passed to the pool's `connect` */
  tls?: TransportTlsOptions;
  /** requests go here instead of the client's own undici Pool (tests: an undici `MockAgent`) */
  dispatcher?: Dispatcher;
}

export interface SoapClient {
  readonly spec: ServiceSpec;
  /** Envelope for `operation` (no header), as it would be sent. For tests and diagnostics. */
  envelope(operation: string, values: RequestValues): string;
  /**
   * Calls `operation`. Resolves with the response element's content or the SOAP fault;
   * rejects with a GatewayError for transport, HTTP and unreadable replies.
   */
  call(operation: string, values: RequestValues, ctx: CallContext): Promise<SoapReply>;
  close(): void;
}

const DEFAULT_MAX_RESPONSE_BYTES = 5 * 1024 * 1024;
const XML_CONTENT_TYPE = /^\s*(text\/xml|application\/soap\+xml|application\/xml)\b/i;

/**
 * A legacy reply → its SOAP body or fault, as the client reads it: a non-XML reply, an
 * unreadable one or a body on an error status becomes the system's GatewayError. Exported for
 * bench/facade/reply-path.ts, which measures exactly this step.
 */
export function interpretReply(system: SoapSystem, parse: ResponseParser, op: OperationSpec, reply: HttpReply): SoapReply {
  const isXml = XML_CONTENT_TYPE.test(reply.contentType);
  const ok = reply.status >= 200 && reply.status < 300;
  if (!isXml) throw ok ? malformedError(system, undefined) : httpStatusError(system, reply);
  try {
    const parsed = parse(op, reply.body);
    // A non-fault body on an error status is not something the contract describes.
    if (parsed.kind === 'body' && !ok) throw httpStatusError(system, reply);
    return parsed;
  } catch (err) {
    if (!(err instanceof MalformedResponse)) throw err;
    // An unreadable error page on a 5xx is the system (or its proxy) failing, not a contract breach.
    throw ok ? malformedError(system, err) : httpStatusError(system, reply);
  }
}

/** Loads the WSDL (once) and returns a client that calls its operations without node-soap. */
export async function createSoapClient(opts: SoapClientOptions): Promise<SoapClient> {
  const spec = await loadServiceSpec(opts.wsdlPath);
  const builders = new Map<string, { op: OperationSpec; build: EnvelopeBuilder }>();
  for (const op of spec.operations.values()) builders.set(op.name, { op, build: compileEnvelope(op) });
  const parse = createResponseParser(spec.operations.values(), { validate: opts.validateXml ?? true });
  const transport = createHttpTransport({
    endpoint: opts.endpoint,
    maxSockets: opts.maxSockets,
    timeoutMs: opts.timeoutMs,
    maxResponseBytes: opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    ...(opts.headers === undefined ? {} : { headers: opts.headers }),
    ...(opts.tls === undefined ? {} : { tls: opts.tls }),
    ...(opts.dispatcher === undefined ? {} : { dispatcher: opts.dispatcher }),
  });

  function operation(name: string): { op: OperationSpec; build: EnvelopeBuilder } {
    const entry = builders.get(name);
    if (!entry) throw new Error(`operation ${name} is not in the WSDL`);
    return entry;
  }

  return {
    spec,
    envelope: (name, values) => operation(name).build(values),
    // Not `async`: one promise layer less per call. Errors flow as before: every throw,
    // synchronous ones included (unknown operation, envelope build), becomes a rejection.
    call(name, values, ctx) {
      let op: OperationSpec;
      let sent: Promise<HttpReply>;
      try {
        const entry = operation(name);
        op = entry.op;
        const body = entry.build(values, opts.soapHeader?.(new Date()));
        sent = transport.post(body, { soapAction: op.soapAction, requestId: ctx.requestId, signal: ctx.signal });
      } catch (err) {
        return Promise.reject(err);
      }
      return sent.then(
        (reply) => interpretReply(opts.system, parse, op, reply),
        (err: unknown) => {
          throw err instanceof TransportFailure
            ? transportError(opts.system, err, opts.timeoutMs)
            : transportError(opts.system, new TransportFailure('network'), opts.timeoutMs);
        },
      );
    },
    close: () => transport.close(),
  };
}
