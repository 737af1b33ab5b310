// Test helper: an in-process HTTP server on 127.0.0.1:0 that records requests and answers
// with whatever the test scripts (canned bytes, delays, resets).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CapturedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type Responder = (req: CapturedRequest, res: http.ServerResponse) => void;

export interface CaptureServer {
  url: string;
  requests: CapturedRequest[];
  respond(responder: Responder): void;
  close(): Promise<void>;
}

export const SOAP_FAULT_XML =
  '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">' +
  '<soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>TMO-SYS capture</faultstring></soap:Fault></soap:Body></soap:Envelope>';

/** Starts the server; by default every call gets a 500 SOAP fault. */
export async function startCaptureServer(): Promise<CaptureServer> {
  const requests: CapturedRequest[] = [];
  let responder: Responder = (_req, res) => {
    res.writeHead(500, { 'Content-Type': 'text/xml; charset=utf-8' });
    res.end(SOAP_FAULT_XML);
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const captured = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(captured);
      responder(captured, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/soap`,
    requests,
    respond: (r) => {
      responder = r;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
