// NODE-SOAP-NOTES.md § Errors and CONTRACT.md § Common rules / § TMO Auth: what happens
// below the SOAP layer, classified into the domain taxonomy the same way for both systems
// (codes are prefixed with the system). Messages are ours; legacy text never gets in.
import {
  TimeoutError,
  TranslationError,
  UnavailableError,
  type GatewayError,
} from '../../domain/errors/index.ts';
import type { MalformedResponse } from './response.ts';
import type { HttpReply, TransportFailure } from './transport.ts';

export type SoapSystem = 'tmo' | 'crm';

const LABEL: Record<SoapSystem, string> = { tmo: 'TMO', crm: 'CRM' };

/** Transport failure → domain error. `timeout` is ambiguous: the legacy system may have done the work. */
export function transportError(system: SoapSystem, failure: TransportFailure, timeoutMs: number): GatewayError {
  const name = LABEL[system];
  const opts = { system, cause: failure };
  switch (failure.reason) {
    case 'timeout':
      return new TimeoutError(`${system}.timeout`, `${name} did not answer within ${timeoutMs} ms; the outcome is unknown`, opts);
    case 'aborted':
      return new UnavailableError(`${system}.aborted`, `The call to ${name} was cancelled`, { ...opts, retryable: false });
    case 'refused':
    case 'network':
      return new UnavailableError(`${system}.unreachable`, `${name} is unreachable`, opts);
    case 'reset':
      return new UnavailableError(`${system}.connection_reset`, `${name} closed the connection`, opts);
    case 'too_large':
      return new TranslationError(`${system}.response_too_large`, `${name} sent a response larger than allowed`, opts);
    case 'invalid_utf8':
      return new TranslationError(`${system}.contract_violation`, `${name} sent a response that is not valid UTF-8`, opts);
  }
}

/** An HTTP reply that carries no readable SOAP envelope, by status. */
export function httpStatusError(system: SoapSystem, reply: Pick<HttpReply, 'status' | 'retryAfterSeconds'>): GatewayError {
  const name = LABEL[system];
  const { status } = reply;
  if (status === 401 || status === 403) {
    // Our credentials are wrong or missing: a misconfiguration to alert on, not the caller's fault.
    return new UnavailableError(`${system}.auth_failed`, `${name} refused the gateway's credentials`, { system, retryable: false });
  }
  if (status >= 500 || status === 429 || status === 408) {
    return new UnavailableError(`${system}.unavailable`, `${name} is unavailable (HTTP ${status})`, {
      system,
      ...(reply.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: reply.retryAfterSeconds }),
    });
  }
  if (status >= 200 && status < 300) {
    return new TranslationError(`${system}.bad_response`, `${name} sent a response that is not a SOAP envelope`, { system });
  }
  // 404 (wrong endpoint path), 400, 415…: our configuration or request, retrying will not help.
  return new UnavailableError(`${system}.http_error`, `${name} answered HTTP ${status}`, { system, retryable: false });
}

/** A 2xx reply that is not a readable SOAP envelope (HTML page, truncated XML, wrong content type). */
export function malformedError(system: SoapSystem, cause: MalformedResponse | undefined): GatewayError {
  return new TranslationError(`${system}.bad_response`, `${LABEL[system]} sent a response that is not a readable SOAP envelope`, {
    system,
    ...(cause === undefined ? {} : { cause }),
  });
}
