/**
 * Hono answers 404 for a known path with an unsupported method; the API answers 405 with an
 * `Allow` header. The allowed methods are found by matching the path against the app's
 * registered routes (middleware registered with `use` has method `ALL` and is ignored).
 */
interface RouteLike {
  method: string;
  path: string;
}

function compile(path: string): RegExp {
  let re = '';
  for (const segment of path.split('/').filter(Boolean)) {
    if (segment === '*') re += '(?:/.*)?';
    else if (segment.startsWith(':')) re += '/[^/]+';
    else re += '/' + segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re || '/'}/?$`);
}

export function allowedMethods(routes: readonly RouteLike[], path: string): string[] {
  const methods = new Set<string>();
  for (const r of routes) {
    if (r.method === 'ALL') continue;
    if (compile(r.path).test(path)) methods.add(r.method.toUpperCase());
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}
