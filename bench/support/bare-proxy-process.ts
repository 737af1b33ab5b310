/**
 * The floor for any Node gateway on `GET /v1/terminals/{id}` (bench/facade, issue 8): a bare
 * `node:http` server, one keep-alive `http.request` to TMO with a string-template envelope,
 * regex extraction of the fields and `JSON.stringify` out. No auth, validation, logging,
 * breaker or metrics — not a design to copy, only what the gateway's own work is measured
 * against.
 *
 * Env: TMO_URL, TMO_USERNAME, TMO_PASSWORD, BARE_ENVELOPE (GetTerminal with `@@TID@@`). Prints one JSON line `{ url }` once listening;
 * exits on SIGTERM/SIGINT or when stdin closes.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const target = new URL(process.env.TMO_URL ?? 'http://127.0.0.1:8081/tmo');
const basic = `Basic ${Buffer.from(`${process.env.TMO_USERNAME ?? 'gateway'}:${process.env.TMO_PASSWORD ?? 'gateway-dev-secret'}`).toString('base64')}`;
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

// The same envelope the gateway sends, as a template with `@@TID@@` where the id goes (from the bench).
const [head, tail] = (process.env.BARE_ENVELOPE ?? '@@TID@@').split('@@TID@@') as [string, string];
const envelope = (tid: string) => `${head}${tid}${tail}`;

const FIELDS = ['TID', 'MID', 'MODEL', 'SERIAL_NO', 'STATUS', 'CONTACTLESS', 'CURRENCY', 'LAST_SEEN_DATE', 'LAST_SEEN_TIME'] as const;
const PATTERNS = FIELDS.map((f) => [f, new RegExp(`<(?:\\w+:)?${f}>([^<]*)<`)] as const);
const ROUTE = /^\/v1\/terminals\/([A-Za-z0-9]{1,16})$/;

const server = http.createServer((req, res) => {
  const m = ROUTE.exec(req.url ?? '');
  if (!m) {
    res.writeHead(404).end();
    return;
  }
  const body = envelope(m[1] as string);
  const up = http.request(
    {
      hostname: target.hostname,
      port: target.port,
      path: target.pathname,
      method: 'POST',
      agent,
      headers: {
        'Content-Type': 'text/xml; charset=utf-8',
        SOAPAction: '"GetTerminal"',
        Authorization: basic,
        'Content-Length': Buffer.byteLength(body),
      },
    },
    (upRes) => {
      let xml = '';
      upRes.setEncoding('utf8');
      upRes.on('data', (c: string) => (xml += c));
      upRes.on('end', () => {
        const out: Record<string, string> = {};
        for (const [f, re] of PATTERNS) out[f] = re.exec(xml)?.[1] ?? '';
        const json = JSON.stringify(out);
        res.writeHead(upRes.statusCode === 200 ? 200 : 502, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json) });
        res.end(json);
      });
    },
  );
  up.on('error', () => res.writeHead(502).end());
  up.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`);
});

let closing = false;
function shutdown(): void {
  if (closing) return;
  closing = true;
  server.close();
  agent.destroy();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.stdin.on('close', shutdown);
process.stdin.resume();
