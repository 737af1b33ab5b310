/**
 * The Prometheus scrape endpoint on its own listener (`METRICS_PORT`), never on the API port:
 * the API port faces callers, the metrics port faces the monitoring network only (a NetworkPolicy
 * or a firewall keeps it there). It answers `GET /metrics` and nothing else.
 */
import { createServer, type Server } from 'node:http';
import type { Metrics } from './metrics.ts';

export interface MetricsServer {
  /** e.g. `http://127.0.0.1:9464/metrics` */
  readonly url: string;
  /** stops listening; safe to call twice */
  close(): Promise<void>;
}

/** Starts the metrics listener on `host:port` (port 0 picks a free one). */
export async function startMetricsServer(opts: { metrics: Metrics; port: number; host: string }): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const headers = { 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' };
    if (path !== '/metrics') {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    opts.metrics.render().then(
      (body) => res.writeHead(200, { ...headers, 'Content-Type': opts.metrics.contentType }).end(req.method === 'HEAD' ? undefined : body),
      () => res.writeHead(500, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end('metrics failed\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}/metrics`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
