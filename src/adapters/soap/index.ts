// Public surface of the SOAP adapters: factories, their options and the ops view of circuits.
import type { CircuitSnapshot, CircuitStateView, CircuitStatusPort } from '../../domain/circuit.port.ts';

export { createTmoAdapter, type TmoAdapter, type TmoAdapterOptions } from './tmo-adapter.ts';
export type { TransportTlsOptions } from './transport.ts';
export { createCrmAdapter, type CrmAdapter, type CrmAdapterOptions } from './crm-adapter.ts';
export type { AdapterControls, AdapterLogger, BreakerOptions, BulkheadOptions, CircuitStateChange } from './resilience.ts';

/** CircuitStatusPort over any adapters exposing `circuit()` and, cheaper, `circuitState()` (TMO, CRM, SFTP). */
export function createCircuitStatus(...sources: Array<{ circuit(): CircuitSnapshot; circuitState(): CircuitStateView }>): CircuitStatusPort {
  return {
    circuits: () => sources.map((s) => s.circuit()),
    stateOf(system) {
      const name = system.toLowerCase();
      for (const s of sources) {
        const c = s.circuitState();
        if (c.system.toLowerCase() === name) return c;
      }
      return undefined;
    },
  };
}
