import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

/** Runs `code` (ESM) in a fresh node with `%HasFastProperties` available; returns its stdout lines. */
function inNode(code: string): string[] {
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return out.trim().split('\n');
}

describe('restoreFastStringPrototype', () => {
  it('puts String.prototype back into fast mode after ioredis made it a dictionary, without changing it', () => {
    const lines = inNode(`
      const keys = () => JSON.stringify(Reflect.ownKeys(String.prototype).map(String));
      const before = keys();
      await import('ioredis');
      console.log(%HasFastProperties(String.prototype));
      const { restoreFastStringPrototype } = await import('./src/infra/fast-prototypes.ts');
      restoreFastStringPrototype();
      console.log(%HasFastProperties(String.prototype));
      console.log(keys() === before);
      console.log('abc'.charCodeAt(1), 'a-b'.split('-').length);
    `);
    // the first line pins the cause: if a later ioredis no longer does this, the repair can go
    expect(lines).toEqual(['false', 'true', 'true', '98 2']);
  });
});
