import { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { LastKnownPort } from '../../domain/read-model.port.ts';
import type { Services } from '../../domain/services/types.ts';
import type { TerminalActivityPort } from '../../domain/terminal-snapshot.ts';
import type { ApiEnv } from '../env.ts';
import type { WriteSubmitter } from '../writes.ts';
import { validationHook } from '../validation.ts';

/** What a route group needs. */
export interface RouteDeps {
  services: Services;
  /** run on POST/PATCH routes after the scope check, before body validation (idempotency) */
  beforeWrite: MiddlewareHandler<ApiEnv>[];
  /** applies writes: now (201/200) or accepted for later (202) */
  writes: WriteSubmitter;
  /** last-known copies for reads during a legacy outage (absent: outages answer 503/504) */
  lastKnown?: LastKnownPort | undefined;
  /** the latest daily snapshot's view of a terminal (`activity`); absent: the field is left out */
  terminalActivity?: TerminalActivityPort;
}

/** A sub-app with the gateway's validation hook (zod failures → problem+json). */
export function routeGroup(): OpenAPIHono<ApiEnv> {
  return new OpenAPIHono<ApiEnv>({ defaultHook: validationHook });
}

export function security(scope: string) {
  return [{ bearerAuth: [scope] }];
}

export function scopeNote(scope: string): string {
  return `\n\nRequires scope \`${scope}\`.`;
}
