import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { newestUnder } from '../../bench/support/gateway-entry.ts';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the bench staleness check of dist/ (bench/support/gateway-entry.ts)', () => {
  it('when only files the build leaves out changed since a source file, then the newest is that source file', () => {
    dir = mkdtempSync(join(tmpdir(), 'entry-'));
    const at = (path: string, s: number) => {
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, '');
      utimesSync(path, s, s);
    };
    at(join(dir, 'api/app.ts'), 1_000);
    at(join(dir, 'api/app.test.ts'), 2_000);
    at(join(dir, 'jobs/batch/test-support/harness.ts'), 3_000);
    at(join(dir, 'simulators/test-support.ts'), 4_000);
    expect(newestUnder(dir)?.path).toBe(join(dir, 'api/app.ts'));
    at(join(dir, 'jobs/worker.ts'), 5_000);
    expect(newestUnder(dir)?.path).toBe(join(dir, 'jobs/worker.ts'));
  });
});
