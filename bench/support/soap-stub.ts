/**
 * A canned-response SOAP stub on bare `node:http`: answers each POST with the response recorded
 * from the real simulator for the request's SOAPAction — same status, headers and body bytes.
 * It does no XML work at all, so a benchmark against it shows the gateway's own cost without
 * the node-soap simulator's slowness flattering the ratio (bench/facade).
 *
 * Run on its own (`bench/support/soap-stub-process.ts`) so it gets its own event loop.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One recorded reply: status, the simulator's own headers (no hop-by-hop ones) and body bytes. */
export interface CannedReply {
  status: number;
  headers: Array<[string, string]>;
  bodyBase64: string;
}

/** SOAPAction (without quotes) → reply. */
export type CannedReplies = Record<string, CannedReply>;

// Node writes these itself (and must, for keep-alive to work); replaying them would double them.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'date']);

/**
 * POSTs `body` to `url` and records the answer as a {@link CannedReply}. The request is sent
 * as-is; use it to capture what the simulator answers to a known-good call.
 */
export function recordReply(url: string, body: string, headers: Record<string, string>): Promise<CannedReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { ...headers, 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const pairs: Array<[string, string]> = [];
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
          const name = res.rawHeaders[i] as string;
          if (!HOP_BY_HOP.has(name.toLowerCase())) pairs.push([name, res.rawHeaders[i + 1] as string]);
        }
        resolve({ status: res.statusCode ?? 0, headers: pairs, bodyBase64: Buffer.concat(chunks).toString('base64') });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface SoapStub {
  url: string;
  close(): Promise<void>;
}

/** Serves `replies` on a loopback port (0 = free) at any path. Unknown SOAPAction → 500, empty. */
export async function startSoapStub(replies: CannedReplies, port = 0): Promise<SoapStub> {
  const prepared = new Map<string, { status: number; headers: Array<[string, string]>; body: Buffer }>();
  for (const [action, r] of Object.entries(replies)) {
    prepared.set(action, { status: r.status, headers: r.headers, body: Buffer.from(r.bodyBase64, 'base64') });
  }
  const server = http.createServer((req, res) => {
    // Drain the request first: answering before the body is read would break keep-alive.
    req.resume();
    req.on('end', () => {
      const action = String(req.headers.soapaction ?? '').replace(/"/g, '');
      const reply = prepared.get(action);
      if (!reply) {
        res.writeHead(500, { 'Content-Length': 0 }).end();
        return;
      }
      // writeHead with an array of pairs keeps the recorded order and casing.
      res.writeHead(reply.status, reply.headers.flat());
      res.end(reply.body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/tmo`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
