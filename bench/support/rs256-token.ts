/**
 * What the facade benches authenticate with: an RS256 key in a JWKS file, as most identity
 * providers issue (RSA verify is cheap, sign is not), and one `terminals:read` token for 2 h.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../src/api/auth/dev-keys.ts';

export async function rs256BenchToken(workDir: string, kid: string): Promise<{ jwksFile: string; issuer: string; audience: string; token: string }> {
  const rsa = await generateKeyPair('RS256', { extractable: true });
  const jwksFile = join(workDir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(rsa.publicKey)), kid, alg: 'RS256', use: 'sig' }] }));
  const token = await new SignJWT({ scope: 'terminals:read' })
    .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
    .setIssuer(DEV_ISSUER)
    .setAudience(DEV_AUDIENCE)
    .setSubject('bench')
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(rsa.privateKey);
  return { jwksFile, issuer: DEV_ISSUER, audience: DEV_AUDIENCE, token };
}
