/**
 * Shared set-up of the attack suite: the REAL assembled gateway (`startGateway`, connected
 * mode) whose legacy systems are real HTTP servers on 127.0.0.1:0 scripted to be hostile
 * (`startCaptureServer`), so the tests hold whatever HTTP client the SOAP transport uses.
 * Every log line is kept in memory for the assertions and appended to the run's capture file,
 * so the post-run leak check reads it too.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { DestinationStream } from 'pino';
import { startCaptureServer, type CaptureServer } from '../../src/adapters/soap/testing/capture-server.ts';
import type { Config } from '../../src/config.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { configOnFreePort, connectedSetup, type ConnectedSetup } from '../acceptance/support.ts';
import { captureFile, TEST_LOG_DIR } from '../support/log-capture.ts';

export { LEGACY_CREDENTIALS } from '../acceptance/support.ts';

/** Log lines kept by {@link startHostileGateway}, as written (NDJSON). */
export interface LogLines {
  readonly lines: string[];
  /** every line, parsed */
  records(): Array<Record<string, unknown>>;
}

/**
 * The keys written twice at the top level of one NDJSON log line (pino writes a child's bindings
 * and the call's object side by side, so a key in both appears twice: valid for nobody's parser).
 */
export function repeatedTopLevelKeys(line: string): string[] {
  const seen = new Set<string>();
  const repeated: string[] = [];
  let depth = 0;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === '"') {
      let j = i + 1;
      while (j < line.length && line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      const str = line.slice(i + 1, j);
      let k = j + 1;
      while (line[k] === ' ') k++;
      if (depth === 1 && line[k] === ':') {
        if (seen.has(str)) repeated.push(str);
        seen.add(str);
      }
      i = j;
    } else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') depth--;
  }
  return repeated;
}

/** A logger at `trace` that keeps its lines and also appends them to the run's capture. */
export function memoryLogger(name: string): { logger: ReturnType<typeof createLogger>; log: LogLines } {
  const lines: string[] = [];
  mkdirSync(TEST_LOG_DIR, { recursive: true });
  const file = captureFile();
  const destination: DestinationStream = {
    write(line: string) {
      lines.push(line);
      appendFileSync(file, line);
    },
  };
  return {
    logger: createLogger({ level: 'trace', destination, name }),
    log: { lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) },
  };
}

export interface HostileSetup {
  gw: Gateway;
  base: string;
  /** the scripted TMO and CRM (answers 500 SOAP faults until told otherwise) */
  tmo: CaptureServer;
  crm: CaptureServer;
  setup: ConnectedSetup;
  log: LogLines;
  /** a token with every read/write scope of the API */
  token: string;
  close(): Promise<void>;
}

/**
 * Starts the assembled gateway (listening, in-process workers off) against two scripted
 * legacy servers. Each call takes its own random `REDIS_KEY_PREFIX` on the test Redis, so
 * nothing is shared with other test files. `configure` may adjust the parsed config.
 */
export async function startHostileGateway(
  redisUrl: string,
  opts: { name: string; env?: Record<string, string>; configure?: (c: Config) => Config } = { name: 'security' },
): Promise<HostileSetup> {
  const tmo = await startCaptureServer();
  const crm = await startCaptureServer();
  const setup = await connectedSetup({ tmo, crm }, redisUrl, {
    REDIS_KEY_PREFIX: `sec${randomBytes(4).toString('hex')}`,
    ...opts.env,
  });
  const { logger, log } = memoryLogger(opts.name);
  const config = configOnFreePort(setup.env);
  let gw: Gateway;
  try {
    gw = await startGateway(opts.configure ? opts.configure(config) : config, logger, { listen: true, workers: false });
  } catch (err) {
    await Promise.allSettled([tmo.close(), crm.close()]);
    setup.cleanup();
    throw err;
  }
  const token = await setup.keys.signToken(['merchants:read', 'merchants:write', 'terminals:read', 'terminals:write'], {
    subject: `client-${opts.name}`,
  });
  return {
    gw,
    base: gw.url ?? '',
    tmo,
    crm,
    setup,
    log,
    token,
    async close() {
      await gw.close().catch(() => undefined);
      await Promise.allSettled([tmo.close(), crm.close()]);
      setup.cleanup();
    },
  };
}

/** A SOAP 1.1 envelope around `body`. */
export function soapEnvelope(body: string): string {
  return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>${body}</soap:Body></soap:Envelope>`;
}

/**
 * A GetTerminal reply holding `blocks` element chains nested `depth` deep inside TERMINAL
 * (issue 7's attack: 20 × 8,000 ≈ 1.1 MB, under the 5 MB response cap).
 */
export function deeplyNestedTerminalReply(blocks: number, depth: number): string {
  const chain = '<X>'.repeat(depth) + 'x' + '</X>'.repeat(depth);
  return soapEnvelope(
    '<GetTerminalResponse xmlns="urn:legacy:tmo:v3"><RETURN_CODE>00</RETURN_CODE><RETURN_MSG>OK</RETURN_MSG><TERMINAL><TID>T0000001</TID>' +
      chain.repeat(blocks) +
      '</TERMINAL></GetTerminalResponse>',
  );
}
