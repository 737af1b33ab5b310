import type { Result } from 'hono/router';
import { TrieRouter } from 'hono/router/trie-router';
import { describe, expect, it } from 'vitest';
import { PrefixSplitRouter } from './router.ts';

// the shapes of the gateway's table: global middleware, /v1 with parameters, /ops with a static
// segment beside a parameter one (what the RegExpRouter refuses), bull-board's wildcards
const ROUTES: [string, string][] = [
  ['ALL', '/*'],
  ['ALL', '*'],
  ['GET', '/health/live'],
  ['ALL', '/v1/*'],
  ['GET', '/v1/merchants/:merchantId'],
  ['GET', '/v1/merchants'],
  ['GET', '/v1/merchants/:merchantId/terminals'],
  ['GET', '/v1/terminals/:terminalId'],
  ['POST', '/v1/terminals/:terminalId/status'],
  ['ALL', '/ops/*'],
  ['GET', '/ops/dead-letters'],
  ['GET', '/ops/dead-letters/summary'],
  ['GET', '/ops/dead-letters/:id'],
  ['POST', '/ops/dead-letters/:id/retry'],
  ['POST', '/ops/dead-letters/retry'],
  ['ALL', '/ops/queues'],
  ['ALL', '/ops/queues/*'],
  ['GET', '/openapi.json'],
  ['GET', '/docs/assets/swagger-ui-dist/:file'],
];

const PATHS = [
  '/', '/v1/terminals/T0000001', '/v1/terminals/T0000001/', '/v1/terminals/T1/status', '/v1/merchants', '/v1/merchants/',
  '/v1/merchants/M1/terminals', '/v1', '/v1/', '/v1x', '/health/live', '/health/live/', '/ops', '/ops/', '/opsx',
  '/ops/dead-letters', '/ops/dead-letters/', '/ops/dead-letters/summary', '/ops/dead-letters/abc', '/ops/dead-letters/retry',
  '/ops/dead-letters/abc/retry', '/ops/queues', '/ops/queues/api/queues', '/openapi.json', '/docs/assets/swagger-ui-dist/a.css',
  '/nowhere', '/v1/terminals/%54%30',
];

/** (route index, params) per matched handler, whatever the router's result format */
function normalise(result: Result<number>): [number, Record<string, string | undefined>][] {
  const [matches, stash] = result as [[number, Record<string, unknown>][], unknown[]?];
  return matches.map(([handler, params]) => [
    handler,
    Object.fromEntries(
      Object.entries(params).map(([k, v]) => [k, stash ? (stash[v as number] as string | undefined) : (v as string | undefined)]),
    ),
  ]);
}

describe('PrefixSplitRouter', () => {
  const split = new PrefixSplitRouter<number>('/ops');
  const reference = new TrieRouter<number>();
  ROUTES.forEach(([method, path], i) => {
    split.add(method, path, i);
    reference.add(method, path, i);
  });

  it.each(PATHS.flatMap((p) => [['GET', p], ['POST', p], ['DELETE', p]]))(
    'when %s %s is matched, then it answers what one TrieRouter over every route answers',
    (method, path) => {
      expect(normalise(split.match(method as string, path as string))).toEqual(normalise(reference.match(method as string, path as string)));
    },
  );

  it('when the /ops routes defeat the RegExpRouter, then only /ops paths fall back to the TrieRouter', () => {
    split.match('GET', '/v1/terminals/T0000001');
    split.match('GET', '/ops/dead-letters');
    expect(split.activeRouters).toEqual({ under: 'SmartRouter + TrieRouter', elsewhere: 'SmartRouter + RegExpRouter' });
  });
});
