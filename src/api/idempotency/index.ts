import { randomUUID } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { Redis } from 'ioredis';
import type { ApiEnv } from '../env.ts';
import { problemResponse, type ProblemFieldError } from '../problem.ts';
import { containsClearIban } from './clear-iban.ts';
import { requestFingerprint, scopeKey } from './fingerprint.ts';

export { canonicalJson, requestFingerprint } from './fingerprint.ts';

/**
 * Idempotency keys for state-changing requests (draft-ietf-httpapi-idempotency-key-header).
 *
 * Per (principal, method, concrete path, key) one Redis record holds a SHA-256 fingerprint of
 * the request (never the body: it may hold an IBAN) and, once finished, the final response.
 *
 * | situation                                        | answer                                               |
 * | ------------------------------------------------ | ---------------------------------------------------- |
 * | POST/PUT (or `required(method)`) without header  | 400 `idempotency.key_missing`                        |
 * | header not 1–255 visible ASCII chars             | 400 `idempotency.key_invalid`                        |
 * | new key                                          | handler runs once (atomic claim), outcome per table  |
 * | same key, same fingerprint, finished             | stored status/body/headers + `Idempotent-Replayed`   |
 * | same key, same fingerprint, still running        | 409 `idempotency.in_progress` + `Retry-After: 1`     |
 * | same key, same fingerprint, its runner is dead    | taken over: the handler runs again with the same ref |
 * |   (process gone, or running past `lockTtlSeconds`) |   (the gateway resumes the same operation)           |
 * | same key, different fingerprint (any state)      | 422 `idempotency.key_reused`                         |
 * | Redis unreachable before the handler             | 503 `idempotency.unavailable` (fail closed)          |
 *
 * What happens to the claim once the handler has answered (see `defaultShouldStore`):
 *
 * | handler outcome                                    | record                                                 |
 * | -------------------------------------------------- | ------------------------------------------------------ |
 * | 1xx–3xx (200, 201, 202 accepted, 204, …)           | stored for `ttlSeconds`, replayed                      |
 * | 4xx (400, 404, 409, 422, …)                        | stored: same key + same body → same answer             |
 * | 401, 403, 408, 425, 429                            | released: refused before any work, client may retry    |
 * | 500 (thrown too), 502, 504                         | stored: the write may have half run; no second start   |
 * | 503                                                | released: nothing accepted, client may retry           |
 * |                                                    |   (a released record keeps its `ref`: the retry binds  |
 * |                                                    |   to the same operation, should any of it exist)       |
 * | handler threw past the app's error handler         | released, error rethrown                               |
 * | response body holds a clear IBAN (handler bug)     | released, never written to Redis, `onError` told       |
 */
export interface IdempotencyOptions {
  /** ioredis client (only `eval` is used: every step is one atomic script). */
  redis: Pick<Redis, 'eval'>;
  /** How long a finished response is kept and replayed. Default 86 400 (24 h). */
  ttlSeconds?: number;
  /**
   * How long a running claim blocks duplicates while its owner lives. Must exceed the slowest
   * handler (legacy timeouts included): once it lapses a duplicate may take the claim over (with
   * the same `ref`, see `newRef`). Default 120.
   */
  lockTtlSeconds?: number;
  /**
   * Liveness of the processes holding claims (see `src/jobs/liveness.ts`). With it, a claim
   * names its process, and a resend finds a claim of a dead process (SIGKILL mid-request) and
   * takes it over at once instead of answering 409 until `lockTtlSeconds`.
   */
  liveness?: { instanceId: string; keyOf(instanceId: string): string };
  /**
   * A reference bound to the key at its first claim and kept across takeovers and releases
   * (the gateway uses the operation id): a resend after a crash resumes the same work instead of
   * starting new work. The handler reads it as `c.var.idempotencyRef`. Default: none.
   */
  newRef?: () => string;
  /** Default `lgw:idem:`. */
  keyPrefix?: string;
  /** Methods for which a missing header is a 400. Default: POST and PUT (a PUT here is a write applied later, never a bare replace). */
  required?: (method: string) => boolean;
  /**
   * The caller's stable identity. Default: `c.var.principal.subject` (JWT `sub`, else client
   * id) as set by `authenticate`; a missing principal is a wiring bug and throws (→ 500).
   */
  principal?: (c: Context<ApiEnv>) => string;
  /** Whether a finished response is kept (true) or the claim released (false). */
  shouldStore?: (status: number) => boolean;
  /** Response headers kept and replayed (lower case). Default content-type, location, content-location. */
  storedHeaders?: readonly string[];
  /** Renders a problem. Default: the app's `problemResponse` (problem+json with request id). */
  problem?: (c: Context<ApiEnv>, problem: IdempotencyProblem) => Response;
  /** Told about failures after the handler ran (the response still goes out). Never gets request data. */
  onError?: (err: Error, phase: 'store' | 'release') => void;
  /**
   * Told when a key was seen before (metrics): `replayed` (stored answer sent again), `reused`
   * (same key, different request: 422), `in_progress` (409 while the first still runs).
   */
  onOutcome?: (outcome: IdempotencyOutcome) => void;
}

/** A problem this middleware answers with (status and code are stable). */
export interface IdempotencyProblem {
  status: 400 | 409 | 422 | 503;
  code: IdempotencyProblemCode;
  title: string;
  detail: string;
  errors?: ProblemFieldError[];
  retryAfterSeconds?: number;
}

export type IdempotencyProblemCode =
  | 'idempotency.key_missing'
  | 'idempotency.key_invalid'
  | 'idempotency.key_reused'
  | 'idempotency.in_progress'
  | 'idempotency.unavailable';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
export const REPLAYED_HEADER = 'Idempotent-Replayed';

export type IdempotencyOutcome = 'replayed' | 'reused' | 'in_progress';

const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
const DEFAULT_STORED_HEADERS = ['content-type', 'location', 'content-location'] as const;
const NO_BODY_STATUSES: ReadonlySet<number> = new Set([204, 205, 304]);
/** background retries of a record write that failed after the handler ran (one a second) */
const SETTLE_RETRIES = 10;
const RELEASED_4XX: ReadonlySet<number> = new Set([401, 403, 408, 425, 429]);

/**
 * The default outcome table. Once the handler has run, its answer is final for that key, errors
 * included: a 500, 502 or 504 may follow a partial apply (a legacy call that went out), and a
 * resend under the same key must not start the write again. Released, so the client may retry
 * with the same key: 503 (nothing was accepted; the gateway answers 202 when it accepts a write
 * it cannot apply now) and the 4xx that refuse before any work (401, 403, 408, 425, 429).
 */
export function defaultShouldStore(status: number): boolean {
  if (status === 503) return false;
  return !RELEASED_4XX.has(status);
}

/**
 * Checks an `Idempotency-Key` value: 1–255 visible ASCII characters (0x21–0x7E). A value sent
 * as a structured-field string (`"abc"`, as the IETF draft writes it) is unwrapped first.
 * Returns the key, or null when invalid.
 */
export function parseIdempotencyKey(raw: string): string | null {
  let key = raw.trim();
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) key = key.slice(1, -1);
  return /^[\x21-\x7E]{1,255}$/.test(key) ? key : null;
}

interface RunningRecord {
  v: 1;
  state: 'running';
  fingerprint: string;
  startedAt: string;
  /** random token of the request holding the claim: only it may finish or release it */
  owner: string;
  /** instance id of the process holding the claim (liveness), when known */
  instance?: string;
  /** reference bound to the key (operation id), kept across takeovers */
  ref?: string;
}

/** A claim given back (503 and the like): nothing is running; the next request takes it with its `ref`. */
interface ReleasedRecord {
  v: 1;
  state: 'released';
  fingerprint: string;
  ref: string;
  releasedAt: string;
}

interface DoneRecord {
  v: 1;
  state: 'done';
  fingerprint: string;
  status: number;
  headers: Record<string, string>;
  body: string | null;
  completedAt: string;
}

type StoredRecord = RunningRecord | ReleasedRecord | DoneRecord;

// Returns the existing record, or nil after claiming the key.
const CLAIM_SCRIPT = `
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return false
`;

// Stores the final response unless another request now owns the key (our claim lapsed and
// was taken over): overwriting theirs would replay the wrong answer.
const COMPLETE_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current then
  local ok, rec = pcall(cjson.decode, current)
  if not ok or rec.owner ~= ARGV[1] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
return 1
`;

// Gives the claim back. ARGV[2] (optional) is the released record that keeps the key's ref.
const RELEASE_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local ok, rec = pcall(cjson.decode, current)
if ok and rec.state == 'running' and rec.owner == ARGV[1] then
  if ARGV[2] and ARGV[2] ~= '' then
    redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
  else
    redis.call('DEL', KEYS[1])
  end
  return 1
end
return 0
`;

// Takes a claim over: only if the record is still exactly what we read (ARGV[1]) and, when
// ARGV[4] is '1', its owner's liveness key (KEYS[2], same hash slot) is gone.
const TAKEOVER_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[4] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
return 1
`;

/**
 * Idempotency-Key middleware. Mount after auth (it needs the principal) and before the
 * routes that change legacy state; safe methods pass straight through.
 */
export function createIdempotencyMiddleware(options: IdempotencyOptions): MiddlewareHandler<ApiEnv> {
  const {
    redis,
    ttlSeconds = 86_400,
    lockTtlSeconds = 120,
    keyPrefix = 'lgw:idem:',
    required = (method: string) => method === 'POST' || method === 'PUT',
    principal = defaultPrincipal,
    shouldStore = defaultShouldStore,
    problem = defaultProblem,
    onError,
    onOutcome,
    liveness,
    newRef,
  } = options;
  const storedHeaders = (options.storedHeaders ?? DEFAULT_STORED_HEADERS).map((h) => h.toLowerCase());
  assertPositiveInt('ttlSeconds', ttlSeconds);
  assertPositiveInt('lockTtlSeconds', lockTtlSeconds);

  return async function idempotency(c, next) {
    const method = c.req.method.toUpperCase();
    if (SAFE_METHODS.has(method)) return next();

    const raw = c.req.header(IDEMPOTENCY_HEADER);
    if (raw === undefined) {
      if (!required(method)) return next();
      return problem(c, {
        status: 400,
        code: 'idempotency.key_missing',
        title: 'Idempotency-Key header required',
        detail: `${method} requests must carry an Idempotency-Key header.`,
        errors: [{ field: IDEMPOTENCY_HEADER, reason: 'required' }],
      });
    }
    const key = parseIdempotencyKey(raw);
    if (key === null) {
      return problem(c, {
        status: 400,
        code: 'idempotency.key_invalid',
        title: 'Invalid Idempotency-Key header',
        detail: 'The Idempotency-Key header must be 1 to 255 visible ASCII characters.',
        errors: [{ field: IDEMPOTENCY_HEADER, reason: 'must be 1-255 visible ASCII characters' }],
      });
    }

    const who = principal(c);
    if (who === '') throw new Error('idempotency: empty principal (mount the auth middleware first)');
    const path = c.req.path;
    const redisKey = scopeKey(keyPrefix, who, method, path, key);
    // Hono caches the body: the handler can still read it (json(), text(), validators).
    const fingerprint = requestFingerprint(method, path, await c.req.text(), c.req.header('content-type'));
    const owner = randomUUID();
    const claimOf = (ref: string | undefined): RunningRecord => ({
      v: 1,
      state: 'running',
      fingerprint,
      startedAt: new Date().toISOString(),
      owner,
      ...(liveness ? { instance: liveness.instanceId } : {}),
      ...(ref === undefined ? {} : { ref }),
    });
    let claim = claimOf(newRef?.());
    // A running record is kept as long as a finished one: the claim ends by completion, release
    // or takeover, never by lapsing, so the key's ref survives whatever happens to its owner.
    const recordTtl = Math.max(ttlSeconds, lockTtlSeconds);

    const unavailable = () =>
      // Fail closed: without the store we cannot promise "at most once".
      problem(c, {
        status: 503,
        code: 'idempotency.unavailable',
        title: 'Idempotency store unavailable',
        detail: 'The request was not processed; retry with the same Idempotency-Key.',
        retryAfterSeconds: 1,
      });
    const inProgress = () => {
      onOutcome?.('in_progress');
      return problem(c, {
        status: 409,
        code: 'idempotency.in_progress',
        title: 'Request with this Idempotency-Key is in progress',
        detail: 'A request with this Idempotency-Key is still being processed; retry shortly.',
        retryAfterSeconds: 1,
      });
    };

    let existing: unknown;
    try {
      existing = await redis.eval(CLAIM_SCRIPT, 1, redisKey, JSON.stringify(claim), recordTtl);
    } catch {
      return unavailable();
    }

    if (existing !== null && existing !== undefined) {
      const raw = recordText(existing);
      const record = parseRecord(raw);
      if (record.fingerprint !== fingerprint && record.state !== 'released') {
        onOutcome?.('reused');
        return problem(c, {
          status: 422,
          code: 'idempotency.key_reused',
          title: 'Idempotency-Key reused with a different request',
          detail: 'This Idempotency-Key was already used with a different request; use a new key.',
          errors: [{ field: IDEMPOTENCY_HEADER, reason: 'already used with a different request' }],
        });
      }
      if (record.state === 'done') {
        onOutcome?.('replayed');
        return replay(record);
      }
      // Released, or running under a dead or overdue owner: take it over, keeping its ref when
      // it is the same request (the handler then resumes what the first one started).
      let checkOwner = false;
      if (record.state === 'running') {
        const overdue = Date.now() - Date.parse(record.startedAt) > lockTtlSeconds * 1000;
        if (!overdue && (!liveness || !record.instance || record.instance === liveness.instanceId)) return inProgress();
        checkOwner = !overdue;
      }
      if (record.fingerprint === fingerprint && record.ref !== undefined) claim = claimOf(record.ref);
      const ownerKey = checkOwner && liveness && record.state === 'running' && record.instance ? liveness.keyOf(record.instance) : redisKey;
      let took: unknown;
      try {
        took = await redis.eval(TAKEOVER_SCRIPT, 2, redisKey, ownerKey, raw, JSON.stringify(claim), recordTtl, checkOwner ? '1' : '0');
      } catch {
        return unavailable();
      }
      if (took !== 1) return inProgress();
    }
    if (claim.ref !== undefined) c.set('idempotencyRef', claim.ref);

    const release = async (): Promise<void> => {
      const released: ReleasedRecord | null =
        claim.ref === undefined ? null : { v: 1, state: 'released', fingerprint, ref: claim.ref, releasedAt: new Date().toISOString() };
      await settle('release', () => redis.eval(RELEASE_SCRIPT, 1, redisKey, owner, released ? JSON.stringify(released) : '', recordTtl));
    };

    try {
      await next();
    } catch (err) {
      await release();
      throw err;
    }

    const res = c.res;
    if (!shouldStore(res.status)) {
      await release();
      return;
    }
    const body = NO_BODY_STATUSES.has(res.status) ? null : await res.clone().text();
    if (body !== null && containsClearIban(body)) {
      // A handler bug; the response is already wrong, but Redis must not hold the IBAN.
      onError?.(new Error('idempotency: response not stored, it holds a clear IBAN'), 'store');
      await release();
      return;
    }
    const headers: Record<string, string> = {};
    for (const name of storedHeaders) {
      const value = res.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    const done: DoneRecord = {
      v: 1,
      state: 'done',
      fingerprint,
      status: res.status,
      headers,
      body,
      completedAt: new Date().toISOString(),
    };
    await settle('store', () => redis.eval(COMPLETE_SCRIPT, 1, redisKey, owner, JSON.stringify(done), ttlSeconds));
  };

  /**
   * Runs a final write of the record; when the store is away (a Redis restart or stall), the
   * answer goes out anyway and the write is tried again in the background, a few times a second
   * apart, so resends see the outcome (or can take the claim) soon after Redis is back instead
   * of 409 until `lockTtlSeconds`. Failures go to `onError`.
   */
  async function settle(phase: 'store' | 'release', write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
      return;
    } catch (err) {
      onError?.(asError(err), phase);
    }
    let tries = 0;
    const again = () => {
      tries += 1;
      write().catch((err: unknown) => {
        if (tries < SETTLE_RETRIES) setTimeout(again, 1_000).unref();
        else onError?.(asError(err), phase);
      });
    };
    setTimeout(again, 1_000).unref();
  }
}

function replay(record: DoneRecord): Response {
  const headers = new Headers(record.headers);
  headers.set(REPLAYED_HEADER, 'true');
  return new Response(record.body, { status: record.status, headers });
}

function recordText(raw: unknown): string {
  return typeof raw === 'string' ? raw : Buffer.isBuffer(raw) ? raw.toString('utf8') : '';
}

function parseRecord(text: string): StoredRecord {
  const rec = JSON.parse(text) as Partial<StoredRecord>;
  if (typeof rec.fingerprint !== 'string' || (rec.state !== 'running' && rec.state !== 'done' && rec.state !== 'released')) {
    throw new Error('idempotency: malformed record in the store');
  }
  return rec as StoredRecord;
}

function defaultPrincipal(c: Context<ApiEnv>): string {
  const p = c.get('principal') as ApiEnv['Variables']['principal'] | undefined;
  if (p === undefined) throw new Error('idempotency: no principal (mount authenticate() before idempotency)');
  return p.subject;
}

function defaultProblem(c: Context<ApiEnv>, p: IdempotencyProblem): Response {
  const { retryAfterSeconds, ...init } = p;
  return problemResponse(c, {
    ...init,
    ...(retryAfterSeconds === undefined ? {} : { headers: { 'Retry-After': String(retryAfterSeconds) } }),
  });
}

function assertPositiveInt(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`idempotency: ${name} must be a positive integer`);
}

/**
 * A bare copy of a store error: ioredis attaches the command and its arguments (our record)
 * to reply errors, and a hook may log whatever it is given.
 */
function asError(err: unknown): Error {
  const message = err instanceof Error ? `${err.name}: ${err.message}` : 'unknown error';
  return new Error(`idempotency store: ${message}`);
}
