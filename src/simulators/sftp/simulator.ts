// TMO's SFTP server for the embedded mode: the SFTP server over a batch folder, TMO's pick-up of
// TPU files every few seconds, and TERMSTAT snapshots on demand and nightly.
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { yyyymmdd, hhmmss } from '../shared/time.ts';
import { createTmoBatch, type TmoBatch } from '../tmo-batch/index.ts';
import type { TmoSimulator } from '../tmo/simulator.ts';
import { generateSshKeyPair, startSftpServer, type SftpServer } from './server.ts';

export interface SftpSimulatorOptions {
  /** a fresh folder `sftp-<random>` is made in it for this start (the SFTP root) and removed on close */
  dataDir: string;
  /** the TMO simulator whose terminals the batch side reads and updates; without it only the folders are served */
  tmo?: TmoSimulator;
  /** TMO's pick-up of `/inbox` every this many ms (BATCH.md: 5 minutes; default 5,000 here; 0 = only on demand) */
  pickupIntervalMs?: number;
  /** publish `TERMSTAT_<yesterday>` when 02:00 passes in `timeZone` (default true) */
  nightlyTermstat?: boolean;
  /** zone of processing and snapshot dates (default UTC) */
  timeZone?: string;
  /** login user (default `gateway`) */
  username?: string;
  /** public keys allowed to log in; default: a key pair is generated and returned as `clientKey` */
  authorizedKeys?: string[];
  port?: number;
  host?: string;
  now?: () => number;
}

export interface SftpSimulator {
  host: string;
  port: number;
  username: string;
  /** pin this in the client (`SFTP_HOST_KEY_SHA256`) */
  hostKeySha256: string;
  knownHostsLine: string;
  /** the local folder served as `/` */
  root: string;
  /** the generated login key pair (when `authorizedKeys` was not given) */
  clientKey: { private: string; public: string } | null;
  /** TMO's batch side (null without `tmo`) */
  batch: TmoBatch | null;
  server: SftpServer;
  close(): Promise<void>;
}

/**
 * Starts TMO's SFTP side for the embedded mode. With `tmo`, it also registers on the TMO
 * simulator `POST /_sim/termstat` (body `{"date":"YYYYMMDD"}`, default today) and
 * `POST /_sim/batch/pickup` (a pick-up round now).
 */
export async function startSftpSimulator(opts: SftpSimulatorOptions): Promise<SftpSimulator> {
  const now = opts.now ?? Date.now;
  const zone = opts.timeZone ?? 'UTC';
  const root = join(opts.dataDir, `sftp-${randomBytes(4).toString('hex')}`);
  await mkdir(root, { recursive: true });
  const clientKey = opts.authorizedKeys ? null : generateSshKeyPair('legacy-gateway-dev');
  const batch = opts.tmo ? createTmoBatch({ root, state: opts.tmo.state, now, timeZone: zone }) : null;
  if (batch) await batch.ensureFolders();
  else for (const f of ['inbox', 'outbox/archive', 'outbox/error']) await mkdir(join(root, f), { recursive: true });

  const server = await startSftpServer({
    root,
    username: opts.username ?? 'gateway',
    authorizedKeys: opts.authorizedKeys ?? [clientKey?.public ?? ''],
    port: opts.port ?? 0,
    host: opts.host ?? '127.0.0.1',
  });

  const timers: NodeJS.Timeout[] = [];
  const removeRoutes: Array<() => void> = [];
  if (batch && opts.tmo) {
    const interval = opts.pickupIntervalMs ?? 5_000;
    if (interval > 0) {
      const t = setInterval(() => void batch.processInbox().catch(() => undefined), interval);
      t.unref();
      timers.push(t);
    }
    if (opts.nightlyTermstat ?? true) {
      let lastHhmm = hhmmss(now(), zone).slice(0, 4);
      const t = setInterval(() => {
        const hhmm = hhmmss(now(), zone).slice(0, 4);
        if (lastHhmm < '0200' && hhmm >= '0200') {
          // the snapshot of the day that just ended
          void batch.publishTermstat(yyyymmdd(now() - 6 * 3_600_000, zone)).catch(() => undefined);
        }
        lastHhmm = hhmm;
      }, 30_000);
      t.unref();
      timers.push(t);
    }
    removeRoutes.push(
      opts.tmo.control.add('POST', '/_sim/termstat', async (body) => {
        let date = yyyymmdd(now(), zone);
        if (body.trim() !== '') {
          let parsed: unknown;
          try {
            parsed = JSON.parse(body);
          } catch {
            return { status: 400, body: { error: 'body must be JSON: {"date":"YYYYMMDD"}' } };
          }
          const given = (parsed as { date?: unknown } | null)?.date;
          if (given !== undefined) {
            const digits = typeof given === 'string' ? given.replaceAll('-', '') : '';
            if (!/^\d{8}$/.test(digits)) return { status: 400, body: { error: 'date must be YYYYMMDD or YYYY-MM-DD' } };
            date = digits;
          }
        }
        try {
          return { status: 200, body: await batch.publishTermstat(date) };
        } catch (e) {
          return { status: 400, body: { error: e instanceof Error ? e.message : 'publish failed' } };
        }
      }),
      opts.tmo.control.add('POST', '/_sim/batch/pickup', async () => ({ status: 200, body: { pickups: await batch.processInbox() } })),
    );
  }

  let closing: Promise<void> | undefined;
  return {
    host: server.host,
    port: server.port,
    username: opts.username ?? 'gateway',
    hostKeySha256: server.hostKeySha256,
    knownHostsLine: server.knownHostsLine,
    root,
    clientKey,
    batch,
    server,
    close() {
      closing ??= (async () => {
        for (const t of timers) clearInterval(t);
        for (const r of removeRoutes) r();
        await server.close();
        await rm(root, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
