import { utils } from 'ssh2';
import { describe, expect, it } from 'vitest';
import { generateSshKeyPair, sshFingerprint } from './server.ts';

describe('generateSshKeyPair', () => {
  // ssh2 1.17 alone gets about 1 pair in 256 wrong (a 31-byte public key), so 3,000 draws
  // without the check meet about 12 bad pairs; the odds of meeting none are about 1e-5.
  it('when 3,000 pairs are drawn, then every private and public key parses and both name the same 32-byte key', () => {
    for (let i = 0; i < 3_000; i++) {
      const kp = generateSshKeyPair('t');
      const pub = utils.parseKey(kp.public);
      const priv = utils.parseKey(kp.private);
      expect(pub).not.toBeInstanceOf(Error);
      expect(priv).not.toBeInstanceOf(Error);
      const blob = Buffer.from(kp.public.split(' ')[1] ?? '', 'base64');
      // string "ssh-ed25519" (4 + 11) then string key (4 + 32)
      expect(blob.length).toBe(51);
      expect(sshFingerprint(kp.private)).toBe(sshFingerprint(kp.public));
    }
  });
});
