import { createBullBoard } from '@bull-board/api';
import type { IServerAdapter } from '@bull-board/api/typings/app';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Queue } from 'bullmq';
import { Hono, type MiddlewareHandler } from 'hono';
import type { ApiEnv } from '../env.ts';

/** Methods bull-board only reads with; every other request is an action. */
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** `<link>`s to other origins in bull-board's page (it loads Google Fonts); the fonts fall back to the system's. */
const REMOTE_LINK = /<link\b[^>]*\bhref="https?:\/\/[^"]*"[^>]*>/gi;

/**
 * The console page without its remote assets: the gateway runs without internet access and its
 * Content-Security-Policy allows only its own origin, so the page must not ask for anything else.
 */
async function withoutRemoteAssets(res: Response): Promise<Response> {
  if (!(res.headers.get('Content-Type') ?? '').startsWith('text/html')) return res;
  const headers = new Headers(res.headers);
  headers.delete('Content-Length');
  const html = (await res.text()).replace(REMOTE_LINK, '');
  return new Response(html, { status: res.status, statusText: res.statusText, headers });
}

/**
 * The bull-board queue console at `basePath` (e.g. `/ops/queues`), as two boards over the same
 * queues: a read-only one (bull-board `readOnlyMode`: the page hides the buttons) and a full
 * one. Each request goes to the full board only when the principal holds `writeScope`;
 * authentication and the read scope are checked by the caller's middleware.
 *
 * Every non-read request (PUT/POST/PATCH/DELETE) must pass `requireWrite` first, whatever
 * bull-board would do with it: its `readOnlyMode` is per queue, and some actions (pause-all,
 * resume-all) skip read-only queues and answer 200 having done nothing. A refused action gets
 * `requireWrite`'s answer (403) and is reported to `onMutation` with it.
 *
 * Returns a handler to mount on `basePath` and `basePath/*`.
 */
/**
 * Shown on every queue's page: the Failed tab keeps every failed run (forensics), so its count
 * is larger than the open dead letters; the operator's to-do list is `GET /ops/dead-letters`.
 */
export const FAILED_TAB_NOTE =
  'Failed keeps every failed run for forensics, including runs whose dead letter was since retried and resolved, or ' +
  'discarded: its count is not what still needs an operator. Open dead letters: GET /ops/dead-letters.';

export function queueConsole(opts: {
  queues: readonly Queue[];
  basePath: string;
  writeScope: string;
  /** the `writeScope` check (`requireScope(writeScope)`): answers the refusal of an action */
  requireWrite: MiddlewareHandler<ApiEnv>;
  title?: string;
  /**
   * Called after every mutating console request (retry, clean, promote, …) with what was done
   * and the answer's status: the console's actions join the ops audit trail like the API's.
   */
  onMutation?: (m: { actor: string; method: string; path: string; status: number }) => Promise<void>;
}): MiddlewareHandler<ApiEnv> {
  const board = (readOnlyMode: boolean) => {
    const adapter = new HonoAdapter(serveStatic);
    adapter.setBasePath(opts.basePath);
    createBullBoard({
      queues: opts.queues.map((q) => new BullMQAdapter(q, { readOnlyMode, allowRetries: !readOnlyMode, description: FAILED_TAB_NOTE })),
      // @bull-board/hono 9.10.1 ships its own nested @bull-board/api 9.10.1 whose BaseAdapter
      // type has a private field, so TS sees two incompatible classes; at runtime the adapter
      // only stores the queue map it is given. Drop the cast once the versions align (npm dedupe).
      serverAdapter: adapter as unknown as IServerAdapter,
      options: { uiConfig: { boardTitle: opts.title ?? (readOnlyMode ? 'Queues (read-only)' : 'Queues') } },
    });
    // The plugin's routes are relative to where it is mounted and its static handler strips
    // `basePath` from the full request path, so it is mounted at the full path and fetched
    // with the original request.
    return new Hono().route(opts.basePath, adapter.registerPlugin());
  };
  const readOnly = board(true);
  const full = board(false);

  return async function queueConsoleHandler(c) {
    const principal = c.get('principal') as ApiEnv['Variables']['principal'] | undefined;
    const isAction = !READ_METHODS.has(c.req.method);
    let res: Response | undefined;
    if (isAction) {
      let allowed = false;
      const refusal = await opts.requireWrite(c, async () => {
        allowed = true;
      });
      // fail closed: a guard that neither passes nor answers is a refusal too
      if (!allowed) res = refusal instanceof Response ? refusal : c.text('Forbidden', 403);
    }
    if (res === undefined) {
      const target = principal?.scopes.has(opts.writeScope) ? full : readOnly;
      res = await withoutRemoteAssets(await target.fetch(c.req.raw, c.env));
    }
    if (isAction && opts.onMutation) {
      // the path names queue, job id and action (`/api/queues/ops-tmo/<job>/retry/failed`)
      const path = new URL(c.req.url).pathname.slice(opts.basePath.length);
      await opts.onMutation({ actor: principal?.subject ?? 'unknown', method: c.req.method, path, status: res.status });
    }
    return res;
  };
}
