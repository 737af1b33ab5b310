/**
 * In-process simulators of the legacy TMO and CRM SOAP systems (CONTRACT.md), for `npm start`,
 * tests and benchmarks. See ./README.md for behaviour where the contract is silent.
 *
 * ```ts
 * const tmo = await startTmoSimulator();            // http://127.0.0.1:<port>/tmo
 * const crm = await startCrmSimulator({ seed: 7 }); // http://127.0.0.1:<port>/crm
 * tmo.faults.set({ faultRate: 0.1, latencyMs: { min: 20, max: 80 } });
 * await tmo.close(); await crm.close();
 * ```
 */
export type { ControlHandler, ControlResponse, ControlRoutes, FaultConfig, FaultController, RunningSimulator, SimulatedCall, SimulatorCredentials, SimulatorOptions } from './types.ts';
export { startTmoSimulator, TMO_DENIED_MCC, TMO_MSG } from './tmo/simulator.ts';
export type { TmoSimulator, TmoSimulatorOptions } from './tmo/simulator.ts';
export type {
  TmoMerchantRecord,
  TmoMerchantSeed,
  TmoOperation,
  TmoShipTo,
  TmoState,
  TmoStatus,
  TmoStatusChange,
  TmoSummary,
  TmoTerminalRecord,
  TmoTerminalSeed,
  TmoTerminalSettings,
  TmoSettingsApplication,
} from './tmo/state.ts';
export { startCrmSimulator, CRM_TEXT } from './crm/simulator.ts';
export type { CrmSimulator, CrmSimulatorOptions } from './crm/simulator.ts';
export { maskIban } from './crm/state.ts';
export type {
  CrmCustomerData,
  CrmCustomerRecord,
  CrmExternalRef,
  CrmOperation,
  CrmSegment,
  CrmState,
  CrmSummary,
  IbanMaskStyle,
} from './crm/state.ts';
export { fixturePath } from './shared/soap.ts';
