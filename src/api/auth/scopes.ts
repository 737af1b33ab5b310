/** Scopes the API checks, per route group. `ops:*` are for the operations routes. */
export const SCOPES = [
  'merchants:read',
  'merchants:write',
  'partners:read',
  'partners:write',
  'terminals:read',
  'terminals:write',
  'ops:read',
  'ops:write',
] as const;

export type Scope = (typeof SCOPES)[number];
