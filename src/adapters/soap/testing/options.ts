// Test helper: adapter options against the in-process simulators (loopback only).
import path from 'node:path';
import type { CrmAdapterOptions } from '../crm-adapter.ts';
import type { AdapterLogger } from '../resilience.ts';
import type { TmoAdapterOptions } from '../tmo-adapter.ts';

export const DEV = { username: 'gateway', password: 'gateway-dev-secret' } as const;
export const TMO_WSDL = path.resolve('fixtures/tmo/TerminalManagement.wsdl');
export const CRM_WSDL = path.resolve('fixtures/crm/CustomerService.wsdl');

export const TEST_BREAKER = { errorThresholdPercentage: 50, volumeThreshold: 5, resetTimeoutMs: 300, rollingWindowMs: 10_000 };

export function tmoOptions(endpoint: string, over: Partial<TmoAdapterOptions> = {}): TmoAdapterOptions {
  return {
    endpoint,
    wsdlPath: TMO_WSDL,
    ...DEV,
    timeoutMs: 1000,
    breaker: TEST_BREAKER,
    bulkhead: { limit: 8, maxQueue: 16 },
    timeZone: 'UTC',
    ...over,
  };
}

export function crmOptions(endpoint: string, over: Partial<CrmAdapterOptions> = {}): CrmAdapterOptions {
  return { endpoint, wsdlPath: CRM_WSDL, ...DEV, timeoutMs: 1000, breaker: TEST_BREAKER, bulkhead: { limit: 8, maxQueue: 16 }, ...over };
}

/** A logger that keeps every line, to assert nothing sensitive is ever logged. */
export function recordingLogger(): AdapterLogger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (obj: Record<string, unknown>, msg?: string) => {
    lines.push(`${level} ${JSON.stringify(obj)} ${msg ?? ''}`);
  };
  return { lines, warn: log('warn'), error: log('error'), debug: log('debug') };
}
