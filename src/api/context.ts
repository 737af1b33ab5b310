import type { Context } from 'hono';
import type { CallContext } from '../domain/call-context.ts';
import type { ApiEnv } from './env.ts';

/** The per-call context services take: the request id travels on to the legacy systems. */
export function callContext(c: Context<ApiEnv>): CallContext {
  return { requestId: c.get('requestId'), signal: c.req.raw.signal };
}
