import { isGatewayErrorLike } from '../../domain/errors/index.ts';
import type { AdapterLogger } from './resilience.ts';

/**
 * Logs a failed legacy call from its classified error only (never the raw node-soap/axios
 * objects, which carry credentials and IBANs). Translation errors and our own auth
 * misconfiguration must alert; outages are warnings; business outcomes are routine.
 */
export function reportCallFailure(
  logger: AdapterLogger | undefined,
  system: 'tmo' | 'crm',
  operation: string,
  requestId: string,
  err: unknown,
): void {
  if (!logger || !isGatewayErrorLike(err)) return;
  const label = system.toUpperCase();
  const entry = { system, operation, requestId, code: err.code, kind: err.kind };
  if (err.kind === 'translation' || err.code === `${system}.auth_failed`) logger.error(entry, `${label} call failed`);
  else if (err.kind === 'unavailable' || err.kind === 'timeout') logger.warn(entry, `${label} call failed`);
  else logger.debug(entry, `${label} business outcome`);
}
