/**
 * Attack suite, hostile legacy replies (issue 7): the assembled gateway in connected mode
 * against a REAL local HTTP server playing TMO. Each test asserts the specific safe outcome:
 * a clean problem, no hang beyond the timeout, nothing leaked into the answer or the log, and
 * an event loop that keeps serving `/health/live` meanwhile.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { deeplyNestedTerminalReply, startHostileGateway, type HostileSetup } from './support.ts';

const XML = { 'Content-Type': 'text/xml; charset=utf-8' };

let h: HostileSetup;

beforeAll(async () => {
  h = await startHostileGateway(inject('redisUrl'), { name: 'hostile-legacy', env: { TMO_TIMEOUT_MS: '1500' } });
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  h.tmo.requests.length = 0;
});

function getTerminal(): Promise<Response> {
  return fetch(`${h.base}/v1/terminals/T0000001`, { headers: { Authorization: `Bearer ${h.token}` } });
}

/**
 * Runs `request` while asking `/health/live` every 5 ms; returns the request's response and the
 * slowest health answer. A blocked event loop shows up as one slow health answer.
 */
async function whileProbingLiveness(request: () => Promise<Response>): Promise<{ res: Response; body: Record<string, unknown>; slowestMs: number; probes: number }> {
  let done = false;
  let slowestMs = 0;
  let probes = 0;
  const probing = (async () => {
    while (!done) {
      const t0 = performance.now();
      const r = await fetch(`${h.base}/health/live`);
      await r.arrayBuffer();
      expect(r.status).toBe(200);
      slowestMs = Math.max(slowestMs, performance.now() - t0);
      probes++;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  try {
    const res = await request();
    const body = (await res.json()) as Record<string, unknown>;
    return { res, body, slowestMs, probes };
  } finally {
    done = true;
    await probing;
  }
}

describe('attack suite: hostile legacy replies', () => {
  it('when TMO answers GetTerminal with 20 blocks nested 8,000 deep (1.1 MB), then the request gets a 502 problem and /health/live keeps answering within 100 ms', async () => {
    // warm up: the first calls through a cold path (JIT, first connections) are slow for reasons of their own
    h.tmo.respond((_req, res) => {
      res.writeHead(200, XML);
      res.end(deeplyNestedTerminalReply(1, 40));
    });
    for (let i = 0; i < 5; i++) {
      await (await getTerminal()).arrayBuffer();
      await (await fetch(`${h.base}/health/live`)).arrayBuffer();
    }
    const attack = deeplyNestedTerminalReply(20, 8_000);
    expect(attack.length).toBeGreaterThan(1_000_000);
    h.tmo.respond((_req, res) => {
      // sent slowly enough that the liveness probes run while it arrives and is parsed
      res.writeHead(200, XML);
      const half = Math.floor(attack.length / 2);
      res.write(attack.slice(0, half));
      setTimeout(() => res.end(attack.slice(half)), 100);
    });
    const { res, body, slowestMs, probes } = await whileProbingLiveness(getTerminal);
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(body).toMatchObject({ status: 502, code: 'upstream.bad_response' });
    expect(probes).toBeGreaterThan(3);
    expect(slowestMs).toBeLessThan(100);
  });
});
