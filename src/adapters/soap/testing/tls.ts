// Test helper: a throw-away PKI made with the openssl CLI (no dependency: Node can make keys but
// not certificates), and a TLS-terminating proxy in front of a plain-HTTP simulator, so the
// adapters can be tested against "https://" legacy systems with a private CA and mutual TLS.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';

export interface TestPki {
  dir: string;
  /** the private CA (PEM file) that signs both leaf certificates */
  caFile: string;
  /** server certificate for 127.0.0.1 / localhost, and its key (PEM files) */
  serverCertFile: string;
  serverKeyFile: string;
  /** client certificate (mutual TLS) and its key (PEM files) */
  clientCertFile: string;
  clientKeyFile: string;
  /** a second CA that signed nothing here (a wrong trust anchor) */
  otherCaFile: string;
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new Error('the TLS tests need the openssl CLI (apt-get install openssl)');
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString() ?? e.message}`);
  }
}

function ca(cwd: string, name: string): void {
  openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    cwd,
  );
}

function leaf(cwd: string, name: string, ext: string, serial: string): void {
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], cwd);
  writeFileSync(join(cwd, `${name}.ext`), ext);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', serial, '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`], cwd);
}

/** A private CA with a server certificate (127.0.0.1, localhost) and a client certificate, in a temp directory. */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'lgw-pki-'));
  ca(dir, 'ca');
  ca(dir, 'other-ca');
  leaf(dir, 'server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n', '0x01');
  leaf(dir, 'client', 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n', '0x02');
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    serverCertFile: join(dir, 'server.crt'),
    serverKeyFile: join(dir, 'server.key'),
    clientCertFile: join(dir, 'client.crt'),
    clientKeyFile: join(dir, 'client.key'),
    otherCaFile: join(dir, 'other-ca.crt'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface TlsProxy {
  /** `https://127.0.0.1:<port>` */
  origin: string;
  close(): Promise<void>;
}

/**
 * TLS on 127.0.0.1:0 in front of a plain TCP service (a simulator): bytes are piped both ways.
 * `clientCa` set: mutual TLS, a client without a certificate that CA signed is refused.
 */
export async function startTlsProxy(pki: TestPki, targetPort: number, opts: { requireClientCert?: boolean } = {}): Promise<TlsProxy> {
  const sockets = new Set<net.Socket>();
  const server = tls.createServer(
    {
      cert: readFileSync(pki.serverCertFile),
      key: readFileSync(pki.serverKeyFile),
      ...(opts.requireClientCert ? { requestCert: true, rejectUnauthorized: true, ca: readFileSync(pki.caFile) } : {}),
    },
    (client) => {
      const upstream = net.connect(targetPort, '127.0.0.1');
      sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    },
  );
  server.on('tlsClientError', () => undefined); // a refused handshake is what some tests expect
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    origin: `https://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
