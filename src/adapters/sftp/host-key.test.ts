import { createHmac, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSshKeyPair } from '../../simulators/sftp/index.ts';
import { FINGERPRINT_FORMAT, keyTypeOf, knownHostKeys, sha256Fingerprint } from './host-key.ts';

const a = generateSshKeyPair().public.split(' ');
const b = generateSshKeyPair().public.split(' ');
const keyA = a[1] ?? '';
const keyB = b[1] ?? '';
const fpA = sha256Fingerprint(Buffer.from(keyA, 'base64'));
const fpB = sha256Fingerprint(Buffer.from(keyB, 'base64'));
const hashed = (name: string) => {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
};

describe('host key fingerprints', () => {
  it('when a key is fingerprinted, then it is what ssh-keygen -lf prints', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-'));
    try {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')]);
      const printed = execFileSync('ssh-keygen', ['-lf', join(dir, 'k.pub')], { encoding: 'utf8' }).split(/\s+/)[1];
      const blob = Buffer.from(readFileSync(join(dir, 'k.pub'), 'utf8').split(' ')[1] ?? '', 'base64');
      expect(sha256Fingerprint(blob)).toBe(printed);
      expect(printed).toMatch(FINGERPRINT_FORMAT);
      expect(keyTypeOf(blob)).toBe('ssh-ed25519');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('knownHostKeys', () => {
  it.each([
    ['a plain entry on port 22', `sftp.tmo.example ssh-ed25519 ${keyA}`, 'sftp.tmo.example', 22, [fpA]],
    ['a bracketed entry with its port', `[sftp.tmo.example]:2222 ssh-ed25519 ${keyA}`, 'sftp.tmo.example', 2222, [fpA]],
    ['a plain entry does not cover another port', `sftp.tmo.example ssh-ed25519 ${keyA}`, 'sftp.tmo.example', 2222, []],
    ['a hashed entry', `${hashed('[10.0.0.5]:2222')} ssh-ed25519 ${keyA}`, '10.0.0.5', 2222, [fpA]],
    ['a hashed entry of another host', `${hashed('10.0.0.6')} ssh-ed25519 ${keyA}`, '10.0.0.5', 22, []],
    ['a wildcard with a negation', `*.tmo.example,!bad.tmo.example ssh-ed25519 ${keyA}`, 'bad.tmo.example', 22, []],
    ['comma-separated names, comments and blank lines', `# TMO\n\nother,sftp.tmo.example ssh-ed25519 ${keyA}\nsftp.tmo.example ssh-ed25519 ${keyB}`, 'sftp.tmo.example', 22, [fpA, fpB]],
    ['a @cert-authority line is not a host key', `@cert-authority *.tmo.example ssh-ed25519 ${keyA}`, 'sftp.tmo.example', 22, []],
  ])('when the file has %s, then the trusted keys are as expected', (_case, text, host, port, expected) => {
    expect([...knownHostKeys(text, host, port).trusted]).toEqual(expected);
  });

  it('when a key is marked @revoked, then it is listed as revoked', () => {
    const keys = knownHostKeys(`@revoked * ssh-ed25519 ${keyA}\nsftp ssh-ed25519 ${keyA}`, 'sftp', 22);
    expect([...keys.revoked]).toEqual([fpA]);
  });
});
