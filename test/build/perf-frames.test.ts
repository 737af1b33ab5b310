import { describe, expect, it } from 'vitest';
import { asSource } from '../../bench/support/frames.ts';

describe('perf frames of the built gateway named as their source (bench/support/perf-budget.ts)', () => {
  it('when a frame is in the build, then it reads as the src/ file it came from', () => {
    expect(asSource('JS:*readThrough file:///work/main/dist/api/stale-if-error.js:61:17')).toBe('JS:*readThrough file:///work/main/src/api/stale-if-error.ts:61:17');
    expect(asSource('LazyCompile:~call /tmp/b/dist/adapters/soap/transport.js:40')).toBe('LazyCompile:~call /tmp/b/src/adapters/soap/transport.ts:40');
  });

  it("when a frame is a package's own dist/, or already a source file, then it is left as it is", () => {
    const hono = 'JS:*dispatch file:///work/main/node_modules/hono/dist/compose.js:5:20';
    expect(asSource(hono)).toBe(hono);
    const src = 'JS:*readThrough file:///work/main/src/api/stale-if-error.ts:61:17';
    expect(asSource(src)).toBe(src);
  });
});
