// CustomerMasterPort over CRM (CONTRACT.md § CRM): lean SOAP client with a WS-Security
// UsernameToken header + fault table + breaker/bulkhead. The create/update envelopes carry
// the IBAN in clear: they are built and sent here and never logged, queued or kept.
import type { CallContext } from '../../domain/call-context.ts';
import type { CustomerMasterPort } from '../../domain/customer-master.port.ts';
import { TranslationError } from '../../domain/errors/index.ts';
import { fromCrmDate } from '../../translators/common/dates.ts';
import { listItems } from '../../translators/common/lists.ts';
import { count, text } from '../../translators/common/records.ts';
import {
  fromCrmCustId,
  fromCrmCustomer,
  toCrmAddExternalRef,
  toCrmGetCustomer,
  toCrmNewCustomer,
  toCrmSearchCustomers,
  toCrmUpdateCustomer,
} from '../../translators/crm/customer.ts';
import { existingCustIdFromText } from '../../translators/crm/fields.ts';
import type { Tracer } from '@opentelemetry/api';
import type { Dispatcher } from 'undici';
import { legacyCallSpans } from './call-span.ts';
import { createSoapClient } from './client.ts';
import type { TransportTlsOptions } from './transport.ts';
import { crmErrorOf, crmFaultError } from './crm-faults.ts';
import type { RequestValues } from './envelope.ts';
import type { SoapFault } from './response.ts';
import {
  adapterControls,
  createResilience,
  type AdapterControls,
  type AdapterLogger,
  type BreakerOptions,
  type BulkheadOptions,
} from './resilience.ts';
import { reportCallFailure } from './report.ts';
import { usernameTokenHeader } from './wsse.ts';

export type CrmOperation = 'CreateCustomer' | 'GetCustomer' | 'UpdateCustomer' | 'SearchCustomers' | 'AddExternalRef';

/** Options of the CRM adapter. */
export interface CrmAdapterOptions {
  /** CRM SOAP endpoint, e.g. `http://127.0.0.1:8082/crm` */
  endpoint: string;
  /** local WSDL file (`fixtures/crm/CustomerService.wsdl`); never fetched from the network */
  wsdlPath: string;
  /** WS-Security UsernameToken credentials (PasswordText, no Timestamp) */
  username: string;
  password: string;
  /** per-call timeout in ms; a timeout is ambiguous (TimeoutError `crm.timeout`) */
  timeoutMs: number;
  breaker: BreakerOptions;
  /** concurrency limit (also the keep-alive socket pool) and bounded queue */
  bulkhead: BulkheadOptions;
  /** response body cap in bytes (default 5 MB) */
  maxResponseBytes?: number;
  /** legacy calls go here instead of the adapter's own undici Pool (tests: an undici `MockAgent`) */
  dispatcher?: Dispatcher;
  /** TLS for an `https:` endpoint: a private CA (`ca`), a client certificate and key (mutual TLS) */
  tls?: TransportTlsOptions;
  logger?: AdapterLogger;
  /** with tracing on (src/infra/tracing.ts): one CLIENT span per call; absent, calls are not wrapped at all */
  tracer?: Tracer;
}

/** CRM port plus what operations need: circuit state, state-change events, shutdown. */
export interface CrmAdapter extends CustomerMasterPort, AdapterControls {}

/**
 * Creates the CRM adapter: reads the WSDL once, then calls CRM with precompiled envelopes
 * (WS-Security header included) over a keep-alive agent, behind a circuit breaker and a bulkhead.
 */
export async function createCrmAdapter(opts: CrmAdapterOptions): Promise<CrmAdapter> {
  const client = await createSoapClient({
    system: 'crm',
    wsdlPath: opts.wsdlPath,
    endpoint: opts.endpoint,
    timeoutMs: opts.timeoutMs,
    maxSockets: opts.bulkhead.limit,
    ...(opts.maxResponseBytes === undefined ? {} : { maxResponseBytes: opts.maxResponseBytes }),
    ...(opts.dispatcher === undefined ? {} : { dispatcher: opts.dispatcher }),
    ...(opts.tls === undefined ? {} : { tls: opts.tls }),
    soapHeader: usernameTokenHeader(opts.username, opts.password),
  });
  const resilience = createResilience({ system: 'crm', breaker: opts.breaker, bulkhead: opts.bulkhead, logger: opts.logger });
  const { logger } = opts;

  /**
   * One CRM call. Faults are classified inside the breaker (CRM-500 counts, CRM-404 does
   * not). `onFault` may turn a fault into a result (CRM-409 on create); `map` translates
   * the body outside the breaker.
   */
  async function callOnce<T>(
    op: CrmOperation,
    values: RequestValues,
    ctx: CallContext,
    map: (body: Record<string, unknown>) => T,
    onFault?: (fault: SoapFault) => T | undefined,
  ): Promise<T> {
    try {
      const result = await resilience.run(async () => {
        const reply = await client.call(op, values, ctx);
        if (reply.kind === 'body') return { body: reply.body };
        const handled = onFault?.(reply.fault);
        if (handled !== undefined) return { handled };
        throw crmFaultError(reply.fault);
      }, ctx.signal);
      return 'handled' in result ? (result.handled as T) : map(result.body);
    } catch (err) {
      reportCallFailure(logger, 'crm', op, ctx.requestId, err);
      throw err;
    }
  }

  const spans = opts.tracer ? legacyCallSpans(opts.tracer, 'crm') : undefined;
  function call<T>(
    op: CrmOperation,
    values: RequestValues,
    ctx: CallContext,
    map: (body: Record<string, unknown>) => T,
    onFault?: (fault: SoapFault) => T | undefined,
  ): Promise<T> {
    return spans ? spans.run(op, () => callOnce(op, values, ctx, map, onFault)) : callOnce(op, values, ctx, map, onFault);
  }

  return {
    createCustomer(customer, ctx) {
      return call<{ id: string; created: boolean }>(
        'CreateCustomer',
        toCrmNewCustomer(customer),
        ctx,
        (body) => ({ id: fromCrmCustId(text(body, 'CustId', 'crm')), created: true }),
        (fault) => {
          const e = crmErrorOf(fault);
          // Duplicate VAT number: the existing CustId is only in the text (NODE-SOAP-NOTES.md).
          return e?.code === 'CRM-409' ? { id: existingCustIdFromText(e.text), created: false } : undefined;
        },
      );
    },

    getCustomer(id, ctx) {
      return call('GetCustomer', toCrmGetCustomer(id), ctx, (body) => fromCrmCustomer(body.Customer));
    },

    updateCustomer(id, patch, ctx) {
      return call('UpdateCustomer', toCrmUpdateCustomer(id, patch), ctx, (body) => ({
        updatedAt: fromCrmDate(text(body, 'UpdatedOn', 'crm'), 'UpdatedOn'),
      }));
    },

    searchCustomers(search, ctx) {
      return call('SearchCustomers', toCrmSearchCustomers(search), ctx, (body) => ({
        items: listItems<unknown>(body.Customers, 'Customer').map(fromCrmCustomer),
        total: count(body, 'TotalCount', 'crm'),
        page: search.page,
        pageSize: search.pageSize,
      }));
    },

    addExternalRef(id, system, value, ctx) {
      return call('AddExternalRef', toCrmAddExternalRef(id, system, value), ctx, (body) => {
        if (text(body, 'Result', 'crm') !== 'OK') {
          throw new TranslationError('crm.contract_violation', 'CRM did not confirm the external reference', { system: 'crm' });
        }
      });
    },

    ...adapterControls('crm', resilience, client, logger),
  };
}
