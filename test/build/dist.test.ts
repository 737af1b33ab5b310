/**
 * The production build: `npm run build` (tsc with tsconfig.build.json) emits plain JavaScript to
 * dist/, and `node dist/main.js` / `node dist/worker.js` run it without tsx — exactly what the
 * Dockerfile does. dist/ must only need the `dependencies` of package.json (the image installs
 * `npm ci --omit=dev`), and the assets found from `import.meta.url` (WSDLs, Swagger UI) must be
 * found from dist/ too.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = join(ROOT, 'dist');

const children: ChildProcess[] = [];
let devDir = '';

beforeAll(async () => {
  devDir = mkdtempSync(join(tmpdir(), 'lgw-dist-'));
  // `npm run build`'s emit without its type check (`npm test` type-checks the same sources in its
  // typecheck step): the emitted files are identical, at a third of the CPU on a busy machine.
  await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--noCheck'], {
    cwd: ROOT,
  });
}, 300_000);

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(devDir, { recursive: true, force: true });
});

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? jsFiles(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : [],
  );
}

/** Starts a dist entry point with only what a container would set; resolves once `ready` matches its output. */
function run(entry: string, env: Record<string, string>, ready: RegExp) {
  const proc = spawn(process.execPath, [join(DIST, entry)], {
    cwd: ROOT,
    // no NODE_OPTIONS: nothing may load tsx behind the build's back
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DEV_DATA_DIR: devDir, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  let out = '';
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const matched = new Promise<RegExpExecArray>((resolve, reject) => {
    const onData = (b: Buffer) => {
      out += b.toString('utf8');
      const m = ready.exec(out);
      if (m) resolve(m);
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    void exited.then((code) => reject(new Error(`${entry} exited ${code} before it was ready:\n${out}`)));
  });
  return { proc, matched, exited, output: () => out };
}

describe('production build (dist/)', () => {
  it('when built, then every bare import in dist/ is a node built-in or a production dependency', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const allowed = new Set([...Object.keys(pkg.dependencies), ...builtinModules]);
    const missing = new Set<string>();
    for (const file of jsFiles(DIST)) {
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
        const spec = m[1] ?? m[2] ?? '';
        if (spec.startsWith('.') || spec.startsWith('node:')) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec);
        if (!allowed.has(name)) missing.add(`${name} (in ${file.slice(DIST.length + 1)})`);
      }
      // relative imports were rewritten to .js: a .ts one would fail under plain node
      expect(src, file).not.toMatch(/from\s+['"]\.{1,2}\/[^'"]+\.ts['"]/);
    }
    expect([...missing]).toEqual([]);
    expect(jsFiles(DIST).some((f) => f.endsWith('.test.js'))).toBe(false);
  });

  it('when node runs dist/main.js in embedded mode, then it serves /health/live and the offline docs, and SIGTERM exits 0', async () => {
    const gw = run('main.js', { PORT: '0', REDIS_URL: inject('redisUrl') }, /listening on (http:\/\/[\d.:]+)/);
    const [, base] = await gw.matched;
    const live = await fetch(`${base}/health/live`);
    expect(live.status).toBe(200);
    // the Swagger UI assets come from swagger-ui-dist, found from dist/ through node's resolution
    const asset = await fetch(`${base}/docs/assets/swagger-ui-dist/swagger-ui.css`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('text/css');
    gw.proc.kill('SIGTERM');
    expect(await gw.exited).toBe(0);
  }, 60_000);

  it('when node runs dist/worker.js in connected mode, then the worker starts (WSDLs found from dist/) and SIGTERM exits 0', async () => {
    // a worker needs the gateway's connected-mode environment; it calls no legacy system until a job arrives
    const worker = run(
      'worker.js',
      {
        REDIS_URL: inject('redisUrl'),
        REDIS_ALLOW_NO_PERSISTENCE: 'true',
        TMO_URL: 'http://127.0.0.1:9/tmo',
        CRM_URL: 'http://127.0.0.1:9/crm',
        LEGACY_ALLOW_PLAINTEXT: 'true',
        TMO_USERNAME: 'tmo-user',
        TMO_PASSWORD: 'tmo-secret',
        CRM_USERNAME: 'crm-user',
        CRM_PASSWORD: 'crm-secret',
        PAYLOAD_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
        AUTH_JWKS_URL: 'https://127.0.0.1:9/jwks',
        AUTH_ISSUER: 'https://issuer.test',
        AUTH_AUDIENCE: 'legacy-gateway',
      },
      /worker started/,
    );
    await worker.matched;
    worker.proc.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  }, 60_000);

  it('when node runs dist/worker.js in embedded mode, then it refuses with exit 2 and says why', async () => {
    const worker = run('worker.js', { REDIS_URL: inject('redisUrl') }, /refusing to start in embedded mode/);
    await worker.matched;
    expect(await worker.exited).toBe(2);
  }, 60_000);
});
