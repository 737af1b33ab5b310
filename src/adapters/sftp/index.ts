// Public surface of the SFTP adapter (TMO's batch file exchange, BATCH.md).
export { createSftpAdapter, SFTP_DEFAULTS, type HostKeyPin, type SftpAdapter, type SftpAdapterOptions } from './adapter.ts';
export { FINGERPRINT_FORMAT, knownHostKeys, sha256Fingerprint } from './host-key.ts';
