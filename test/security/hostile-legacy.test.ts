/**
 * Attack suite, hostile legacy replies (issue 7): the assembled gateway in connected mode
 * against a REAL local HTTP server playing TMO. Each test asserts the specific safe outcome:
 * a clean problem, no hang beyond the timeout, nothing leaked into the answer or the log, and
 * an event loop that keeps serving `/health/live` meanwhile.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { deeplyNestedTerminalReply, LEGACY_CREDENTIALS, soapEnvelope, startHostileGateway, type HostileSetup } from './support.ts';

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
    expect(probes).toBeGreaterThanOrEqual(2);
    expect(slowestMs).toBeLessThan(100);
  });

  async function expectCleanProblem(res: Response, status: number, code: string): Promise<string> {
    const text = await res.text();
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(JSON.parse(text)).toMatchObject({ status, code });
    return text;
  }

  it('when the reply declares a SYSTEM entity reading a local file (XXE), then 502 and no file content anywhere', async () => {
    h.tmo.respond((_req, res) => {
      res.writeHead(200, XML);
      res.end(
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' +
          soapEnvelope('<GetTerminalResponse xmlns="urn:legacy:tmo:v3"><RETURN_CODE>00</RETURN_CODE><RETURN_MSG>&xxe;</RETURN_MSG></GetTerminalResponse>').replace('<?xml version="1.0" encoding="utf-8"?>', ''),
      );
    });
    const text = await expectCleanProblem(await getTerminal(), 502, 'upstream.bad_response');
    expect(text).not.toContain('root:');
    expect(h.log.lines.join('')).not.toContain('root:x:0');
  });

  it('when the reply is a billion-laughs entity bomb, then 502 at once, nothing expanded', async () => {
    const lol = Array.from({ length: 9 }, (_, i) => `<!ENTITY l${i + 1} "${`&l${i};`.repeat(10)}">`).join('');
    h.tmo.respond((_req, res) => {
      res.writeHead(200, XML);
      res.end(`<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">${lol}]>` + soapEnvelope('<GetTerminalResponse><RETURN_MSG>&l9;</RETURN_MSG></GetTerminalResponse>').replace('<?xml version="1.0" encoding="utf-8"?>', ''));
    });
    const t0 = performance.now();
    await expectCleanProblem(await getTerminal(), 502, 'upstream.bad_response');
    expect(performance.now() - t0).toBeLessThan(1_500);
  });

  it('when a well-formed reply carries bytes that are not UTF-8 (Latin-1 è), then 502 and no U+FFFD reaches the answer', async () => {
    const sample = (name: string) => readFileSync(new URL(`../../fixtures/samples/tmo/${name}/response.xml`, import.meta.url), 'utf8');
    // the recorded GetTerminal reply with one Latin-1 byte in SERIAL_NO; GetMerchant (the terminal's merchant) answers as recorded
    const [head, tail] = sample('get-terminal-active').split('A920-00000001');
    h.tmo.respond((req, res) => {
      res.writeHead(200, XML);
      if (req.headers.soapaction === '"GetMerchant"') res.end(sample('get-merchant-ok'));
      else res.end(Buffer.concat([Buffer.from(`${head}SN`), Buffer.from([0xe8]), Buffer.from(`1${tail}`)]));
    });
    const text = await expectCleanProblem(await getTerminal(), 502, 'upstream.bad_response');
    expect(text).not.toContain('\uFFFD');
    expect(text).not.toContain('SN');
  });

  it('when the reply streams 50 MB without a length, then it is cut at the response cap: 502 and the connection dropped', async () => {
    let sent = 0;
    let aborted = false;
    h.tmo.respond((_req, res) => {
      res.writeHead(200, XML);
      const chunk = Buffer.alloc(1024 * 1024, 0x61);
      const pump = (): void => {
        while (sent < 50 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      res.on('close', () => (aborted = sent < 50 * 1024 * 1024));
      res.write('<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><GetTerminalResponse><RETURN_MSG>');
      pump();
    });
    await expectCleanProblem(await getTerminal(), 502, 'upstream.bad_response');
    await new Promise((r) => setTimeout(r, 200));
    expect(aborted).toBe(true);
    expect(sent).toBeLessThan(50 * 1024 * 1024);
  });

  it('when the reply nests 100,000 deep, then 502 without walking it', async () => {
    h.tmo.respond((_req, res) => {
      res.writeHead(200, XML);
      res.end(deeplyNestedTerminalReply(1, 100_000));
    });
    await expectCleanProblem(await getTerminal(), 502, 'upstream.bad_response');
  });

  it('when a SOAP fault echoes the request (Authorization header, envelope), then the problem and the log hold no credential', async () => {
    h.tmo.respond((req, res) => {
      res.writeHead(500, XML);
      const echo = `${String(req.headers.authorization)} ${LEGACY_CREDENTIALS.tmo.password} ${req.body}`.replace(/&/g, '&amp;').replace(/</g, '&lt;');
      res.end(soapEnvelope(`<soap:Fault><faultcode>soap:Server</faultcode><faultstring>TMO-SYS failure for ${echo}</faultstring></soap:Fault>`));
    });
    const text = await (await getTerminal()).text();
    const basic = Buffer.from(`${LEGACY_CREDENTIALS.tmo.username}:${LEGACY_CREDENTIALS.tmo.password}`).toString('base64');
    for (const secret of [basic, LEGACY_CREDENTIALS.tmo.password, h.token]) {
      expect(text).not.toContain(secret);
      expect(h.log.lines.join('')).not.toContain(secret);
    }
    expect(JSON.parse(text)).toMatchObject({ status: 503 });
  });

  it('when TMO sends its headers and then nothing (slowloris), then 504 once the legacy timeout passes, not later', async () => {
    h.tmo.respond((_req, res) => {
      res.writeHead(200, { ...XML, 'Content-Length': '100000' });
      res.write('<?xml version="1.0"?>');
    });
    const t0 = performance.now();
    await expectCleanProblem(await getTerminal(), 504, 'upstream.timeout');
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(1_400);
    expect(elapsed).toBeLessThan(5_000);
  });
});
