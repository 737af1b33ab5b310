/**
 * A frame of the built gateway (`dist/…/x.js`, `--entry dist/main.js`) named as its source
 * (`src/…/x.ts`), so perf-budget.ts's layers, written against `src/`, label both builds alike.
 * Packages' own `dist/` folders (hono, @hono/node-server, …) are left as they are.
 */
export function asSource(frame: string): string {
  return frame.includes('node_modules') ? frame : frame.replace(/\/dist\/([^\s:]+)\.js\b/g, '/src/$1.ts');
}
