/**
 * The root app's router (issue 8). Hono's default `SmartRouter` picks one router for the whole
 * table: hono's RegExpRouter refuses a static and a parameter segment side by side
 * (`/ops/dead-letters/summary` and `/ops/dead-letters/:id`), so the whole gateway fell back to
 * the TrieRouter, about five times slower per match on `GET /v1/terminals/{id}`.
 *
 * This router keeps two default `SmartRouter`s: one with every route, asked only for paths at
 * or under `prefix` (`/ops`), and one with every route that can match a path elsewhere, asked for
 * all other paths (it settles on the RegExpRouter while that accepts the table, else falls back
 * to the TrieRouter as before). A route "at or under the prefix" (`/ops`, `/ops/…`) can only
 * match such paths, so each side answers exactly what one router over the whole table would.
 */
import type { Result, Router } from 'hono/router';
import { RegExpRouter } from 'hono/router/reg-exp-router';
import { SmartRouter } from 'hono/router/smart-router';
import { TrieRouter } from 'hono/router/trie-router';

function defaultRouter<T>(): Router<T> {
  return new SmartRouter<T>({ routers: [new RegExpRouter<T>(), new TrieRouter<T>()] });
}

export class PrefixSplitRouter<T> implements Router<T> {
  readonly name: string;
  readonly #prefix: string;
  readonly #prefixSlash: string;
  readonly #under: Router<T> = defaultRouter<T>();
  readonly #elsewhere: Router<T> = defaultRouter<T>();

  /** `prefix`: a static path without a trailing slash, e.g. `/ops` */
  constructor(prefix: string) {
    this.#prefix = prefix;
    this.#prefixSlash = `${prefix}/`;
    this.name = `PrefixSplitRouter(${prefix})`;
  }

  #isUnder(path: string): boolean {
    return path === this.#prefix || path.startsWith(this.#prefixSlash);
  }

  add(method: string, path: string, handler: T): void {
    this.#under.add(method, path, handler);
    if (!this.#isUnder(path)) this.#elsewhere.add(method, path, handler);
  }

  match(method: string, path: string): Result<T> {
    return this.#isUnder(path) ? this.#under.match(method, path) : this.#elsewhere.match(method, path);
  }

  /** the router each side settled on (after its first match), for tests and diagnostics */
  get activeRouters(): { under: string; elsewhere: string } {
    return { under: this.#under.name, elsewhere: this.#elsewhere.name };
  }
}
