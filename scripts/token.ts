/**
 * Prints a dev JWT the gateway accepts in embedded mode (`npm start` with no
 * TMO_URL/CRM_URL/AUTH_JWKS_*), or in connected mode when AUTH_JWKS_FILE is the dev key's JWKS
 * (the environment `npm run simulators` writes).
 *
 *   npm run token                                   every scope, subject dev-user
 *   npm run token -- merchants:read merchants:write only these
 *   npm run token -- --sub alice ops:read ops:write subject alice (audit entries name it)
 *
 * The key pair lives in DEV_DATA_DIR (default .tmp/dev) and is shared with the gateway, so the
 * token keeps working across restarts until it expires (1 h). Use it as
 * `curl -H "Authorization: Bearer $(npm run -s token)" …`.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureDevKeys } from '../src/api/auth/dev-keys.ts';
import { SCOPES } from '../src/api/auth/scopes.ts';
import { loadConfig } from '../src/config.ts';

/** Every scope the API knows, plus the operations scopes. */
export const ALL_SCOPES: readonly string[] = [...new Set<string>([...SCOPES, 'ops:read', 'ops:write'])];

async function main(argv: readonly string[]): Promise<number> {
  const config = loadConfig();
  const devJwks = config.auth.mode === 'jwks-file' && config.auth.jwksFile === join(config.devDataDir, 'jwks.json');
  if (config.auth.mode !== 'dev' && !devJwks) {
    console.error(
      `npm run token makes dev tokens, which only the embedded mode accepts; this environment verifies tokens with ${
        config.auth.mode === 'jwks-url' ? 'AUTH_JWKS_URL' : 'AUTH_JWKS_FILE'
      }. Ask that identity provider for a token instead.`,
    );
    return 2;
  }
  let args;
  try {
    args = parseArgs({ args: [...argv], allowPositionals: true, options: { sub: { type: 'string' } } });
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\nusage: npm run token -- [--sub <subject>] [scope ...]`);
    return 2;
  }
  const subject = args.values.sub ?? 'dev-user';
  if (subject.trim() === '') {
    console.error('--sub must not be empty');
    return 2;
  }
  const scopeArgs = args.positionals;
  const unknown = scopeArgs.filter((s) => !ALL_SCOPES.includes(s));
  if (unknown.length > 0) {
    console.error(`unknown scope(s): ${unknown.join(', ')}. Known: ${ALL_SCOPES.join(' ')}`);
    return 2;
  }
  const scopes = scopeArgs.length > 0 ? [...scopeArgs] : [...ALL_SCOPES];
  const keys = await ensureDevKeys(config.devDataDir);
  const token = await keys.signToken(scopes, { subject, issuer: config.auth.issuer, audience: config.auth.audience });
  process.stdout.write(`${token}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
