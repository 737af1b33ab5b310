// ssh2 / SFTP failures → domain errors (FileTransferPort contract). SFTP status codes are those
// of draft-ietf-secsh-filexfer-02 (protocol version 3, what OpenSSH speaks).
import { NotFoundError, TimeoutError, UnavailableError, isGatewayErrorLike, type GatewayError } from '../../domain/errors/index.ts';

export const SFTP_STATUS = {
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;

const SYSTEM = 'sftp';

/** The SFTP status code of a server's answer, or undefined for a transport failure. */
export function sftpStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** True when the error says nothing about the file but that the connection is unusable. */
export function isConnectionFailure(err: unknown): boolean {
  const status = sftpStatus(err);
  return status === undefined || status === SFTP_STATUS.NO_CONNECTION || status === SFTP_STATUS.CONNECTION_LOST;
}

/**
 * Maps a failure of `operation` on `path` to the port's errors: a missing file → NotFoundError;
 * permission denied and unsupported operations → not retryable (our configuration, not a
 * passing fault); anything else → UnavailableError (retried later, counts toward the breaker).
 * Messages name the operation and the remote path only — never keys or credentials.
 */
export function toDomainError(err: unknown, operation: string, path: string): GatewayError {
  if (isGatewayErrorLike(err)) return err as GatewayError;
  const status = sftpStatus(err);
  const what = `SFTP ${operation} ${path}`;
  if (status === SFTP_STATUS.NO_SUCH_FILE) return new NotFoundError('file.not_found', `${what}: no such file`, { system: SYSTEM });
  if (status === SFTP_STATUS.PERMISSION_DENIED) {
    return new UnavailableError('sftp.permission_denied', `${what}: permission denied`, { system: SYSTEM, retryable: false, cause: err });
  }
  if (status === SFTP_STATUS.OP_UNSUPPORTED) {
    return new UnavailableError('sftp.unsupported', `${what}: not supported by the server`, { system: SYSTEM, retryable: false, cause: err });
  }
  if (status !== undefined) {
    return new UnavailableError('sftp.failure', `${what} failed (SFTP status ${status})`, { system: SYSTEM, cause: err });
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new UnavailableError('sftp.unavailable', `${what}: connection failed (${detail})`, { system: SYSTEM, cause: err });
}

export const stalled = (operation: string, path: string, ms: number): TimeoutError =>
  new TimeoutError('sftp.stalled', `SFTP ${operation} ${path}: no data for ${ms} ms`, { system: SYSTEM });

export const timedOut = (operation: string, path: string, ms: number): TimeoutError =>
  new TimeoutError('sftp.timeout', `SFTP ${operation} ${path}: no answer within ${ms} ms`, { system: SYSTEM });
