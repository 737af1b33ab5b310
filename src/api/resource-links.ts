import type { OperationKind, ResourceRef } from '../jobs/types.ts';

const COLLECTION: Record<ResourceRef['type'], string> = { merchant: 'merchants', partner: 'partners', terminal: 'terminals' };

/**
 * The API path of what an operation produced: the resource itself, or for a settings change
 * the terminal's settings. The jobs name resources in domain terms; only the API knows URLs.
 */
export function resourceHref(resource: ResourceRef, kind?: OperationKind): string {
  const path = `/v1/${COLLECTION[resource.type]}/${encodeURIComponent(resource.id)}`;
  return kind === 'terminal.settings' ? `${path}/settings` : path;
}
