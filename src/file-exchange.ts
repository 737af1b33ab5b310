/**
 * Builds the nightly file exchange's transport (BATCH.md): the SFTP adapter against TMO's server
 * (`SFTP_HOST`), or, in embedded mode, against an in-process SFTP server playing TMO's side,
 * pinned by its generated host key exactly like a real one.
 */
import { readFile } from 'node:fs/promises';
import { createSftpAdapter, type SftpAdapter, type SftpAdapterOptions } from './adapters/sftp/index.ts';
import type { Config } from './config.ts';
import type { Logger } from './infra/logger.ts';
import { startSftpSimulator, type SftpSimulator } from './simulators/sftp/index.ts';
import type { TmoSimulator } from './simulators/index.ts';

export interface FileExchange {
  /** the batch jobs' FileTransferPort (with its circuit); null when no SFTP server is configured (connected mode without `SFTP_HOST`) */
  files: SftpAdapter | null;
  /** the embedded TMO SFTP server, in embedded mode without `SFTP_HOST` */
  simulator: SftpSimulator | null;
  /** closes the adapter, then the simulator; safe to call twice */
  close(): Promise<void>;
}

/** Starts the SFTP side the configuration asks for; `tmo` is the embedded TMO simulator, if any. */
export async function startFileExchange(config: Config, logger: Logger, tmo: TmoSimulator | null): Promise<FileExchange> {
  const s = config.sftp;
  const common: Omit<SftpAdapterOptions, 'host' | 'port' | 'username' | 'privateKey' | 'hostKey'> = {
    connectTimeoutMs: s.connectTimeoutMs,
    operationTimeoutMs: s.timeoutMs,
    inactivityTimeoutMs: s.inactivityTimeoutMs,
    readDepth: s.readDepth,
    logger: logger.child({ system: 'sftp' }),
  };
  let simulator: SftpSimulator | null = null;
  let files: SftpAdapter | null = null;
  if (s.host !== undefined) {
    if (s.username === undefined || s.privateKeyFile === undefined) throw new Error('SFTP_USERNAME and SFTP_PRIVATE_KEY_FILE are required with SFTP_HOST');
    let privateKey: Buffer;
    try {
      privateKey = await readFile(s.privateKeyFile);
    } catch {
      throw new Error(`SFTP_PRIVATE_KEY_FILE ${s.privateKeyFile} cannot be read`);
    }
    files = createSftpAdapter({
      ...common,
      host: s.host,
      port: s.port,
      username: s.username,
      privateKey,
      hostKey: s.knownHostsFile !== undefined ? { knownHostsFile: s.knownHostsFile } : { sha256: s.hostKeySha256 },
    });
  } else if (config.mode === 'embedded' && tmo) {
    simulator = await startSftpSimulator({
      dataDir: config.devDataDir,
      tmo,
      pickupIntervalMs: s.simPickupMs,
      timeZone: config.legacyTimeZone,
    });
    files = createSftpAdapter({
      ...common,
      host: simulator.host,
      port: simulator.port,
      username: simulator.username,
      privateKey: simulator.clientKey?.private ?? '',
      hostKey: { sha256: [simulator.hostKeySha256] },
    });
  } else {
    logger.warn('SFTP_HOST is not set: the batch file exchange with TMO is off');
  }
  let closing: Promise<void> | undefined;
  return {
    files,
    simulator,
    close() {
      closing ??= (async () => {
        try {
          await files?.close();
        } finally {
          await simulator?.close();
        }
      })();
      return closing;
    },
  };
}
