/** TMO's SFTP server, in process (ssh2 Server over a local folder). See ../README.md ("SFTP"). */
export { startSftpSimulator, type SftpSimulator, type SftpSimulatorOptions } from './simulator.ts';
export { generateSshKeyPair, sshFingerprint, startSftpServer, type SftpServer, type SftpServerFaults, type SftpServerOptions } from './server.ts';
