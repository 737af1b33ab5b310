// Host key pinning for the TMO SFTP server (BATCH.md: "must verify TMO's host key: an unknown
// host key is a hard error, never a prompt"; SFTP-NOTES.md: hostVerifier).
import { createHash, createHmac } from 'node:crypto';

/** OpenSSH's fingerprint of a raw public key blob: `SHA256:<base64 without padding>` (as `ssh-keygen -lf` prints). */
export function sha256Fingerprint(keyBlob: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** `SHA256:` + 43 base64 characters (a SHA-256 digest without padding). */
export const FINGERPRINT_FORMAT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** The key type named inside a public key blob (`ssh-ed25519`, `rsa-sha2-…` keys say `ssh-rsa`). */
export function keyTypeOf(keyBlob: Uint8Array): string {
  const buf = Buffer.from(keyBlob.buffer, keyBlob.byteOffset, keyBlob.length);
  if (buf.length < 4) return 'unknown';
  const len = buf.readUInt32BE(0);
  return len > 0 && len < 64 && buf.length >= 4 + len ? buf.subarray(4, 4 + len).toString('latin1') : 'unknown';
}

/** What a known_hosts file says about one host: its trusted and its revoked key fingerprints. */
export interface KnownHostKeys {
  trusted: Set<string>;
  revoked: Set<string>;
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}

/** One host field (`name`, `[name]:port`, `*.example.com`, `!bad`, `|1|salt|hash`) against a host name as OpenSSH writes it. */
function hostFieldMatches(field: string, name: string): boolean {
  let positive = false;
  for (const pattern of field.split(',')) {
    if (pattern.startsWith('|1|')) {
      const [, , salt = '', hash = ''] = pattern.split('|');
      const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
      if (mac === hash) positive = true;
      continue;
    }
    const negated = pattern.startsWith('!');
    const glob = negated ? pattern.slice(1) : pattern;
    if (globToRegExp(glob).test(name)) {
      if (negated) return false;
      positive = true;
    }
  }
  return positive;
}

/**
 * The keys an OpenSSH `known_hosts` text lists for `host:port` (plain, bracketed `[host]:port`,
 * hashed `|1|…` and wildcard entries; `@revoked` lines; `@cert-authority` lines are ignored:
 * certificates are not supported).
 */
export function knownHostKeys(text: string, host: string, port: number): KnownHostKeys {
  const name = port === 22 ? host : `[${host}]:${port}`;
  const out: KnownHostKeys = { trusted: new Set(), revoked: new Set() };
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: string | undefined;
    if (fields[0]?.startsWith('@')) marker = fields.shift();
    const [hosts, , key] = fields;
    if (!hosts || !key || marker === '@cert-authority') continue;
    if (!hostFieldMatches(hosts, name)) continue;
    const blob = Buffer.from(key, 'base64');
    if (blob.length === 0) continue;
    (marker === '@revoked' ? out.revoked : out.trusted).add(sha256Fingerprint(blob));
  }
  return out;
}
