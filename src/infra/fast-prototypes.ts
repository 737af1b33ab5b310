/**
 * Puts `String.prototype` back into V8's fast-properties mode (issue 8).
 *
 * ioredis (6.0, `built/resp/verbatim-string.js`) declares `class VerbatimString extends String`
 * when it is loaded. Making `String.prototype` the prototype of another prototype turns it into
 * a dictionary-mode object in V8, and it stays one: from then on, every `str.charCodeAt`,
 * `str.slice`, `str.indexOf` … in optimized code is a generic `LoadIC` call instead of an inlined
 * load — 3 % of the gateway's on-CPU samples in the SOAP reply reader alone (perf, bench/facade).
 * One property load through a String wrapper's inline cache is enough for V8 to make the
 * prototype chain of the receiver fast again (`JSObject::MakePrototypesFast`); nothing about
 * `String.prototype`'s properties changes.
 *
 * Call it once every module is loaded (the gateway and worker builders do, at the end of start-up).
 * Idempotent and cheap; with nothing to repair it changes nothing.
 */
export function restoreFastStringPrototype(): void {
  const wrapper: object = Object('');
  // V8 gives a function its feedback vector (where inline caches live) only after a few calls:
  // before that the load misses without caching anything. 64 runs is far past that budget.
  for (let i = 0; i < 64; i++) probe(wrapper);
}

function probe(o: object): unknown {
  return (o as { __lgwFastPrototypeProbe?: unknown }).__lgwFastPrototypeProbe;
}
