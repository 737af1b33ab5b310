/**
 * How the facade benches (`bench/facade/run.ts --entry`, `bench/facade/ab.ts --a-entry/--b-entry`)
 * start a gateway checkout's entry point: a `.ts` entry (`src/main.ts`, the default) under tsx,
 * as `npm start` runs it; a `.js` entry such as `dist/main.js` (the tsc build, what the Docker
 * image runs) on plain node. A built entry must exist — the benches do not build it, `npm run
 * build` in that checkout does — and one older than a file under the checkout's `src/` is
 * reported, since it would measure code that is no longer there.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const DEFAULT_GATEWAY_ENTRY = 'src/main.ts';

/** Files under src/ that tsconfig.build.json leaves out of dist/: they never make a build stale. */
const NOT_BUILT = /\.test\.ts$|\/(test-support|testing)\/|\/simulators\/(record-samples|test-support)\.ts$/;

/** The newest mtime (ms) of a file under `dir` that the build compiles, with its path. */
export function newestUnder(dir: string): { path: string; mtimeMs: number } | undefined {
  let newest: { path: string; mtimeMs: number } | undefined;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    if (NOT_BUILT.test(path)) continue;
    const { mtimeMs } = statSync(path);
    if (!newest || mtimeMs > newest.mtimeMs) newest = { path, mtimeMs };
  }
  return newest;
}

/**
 * The `node` arguments that run `entry` of the checkout at `root` (loader flags, then the
 * entry's absolute path), for after the caller's own flags. Throws if a `.js` entry is missing;
 * writes a warning to stderr if it is older than the newest file under `root/src`.
 */
export function gatewayEntryArgs(root: string, entry: string = DEFAULT_GATEWAY_ENTRY): string[] {
  const path = resolve(root, entry);
  if (entry.endsWith('.ts')) return ['--import', 'tsx', path];
  if (!existsSync(path)) throw new Error(`${path} does not exist: run \`npm run build\` in ${resolve(root)} first (the bench does not build it)`);
  const src = join(root, 'src');
  const newest = existsSync(src) ? newestUnder(src) : undefined;
  if (newest && newest.mtimeMs > statSync(path).mtimeMs) {
    console.error(`# warning: ${path} is older than ${newest.path}: run \`npm run build\` in ${resolve(root)} to measure the current code`);
  }
  return [path];
}
