import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { createLocalFolderFiles } from './local-folder.ts';

describe('local folder file transfer', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'lgw-files-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('when a file is uploaded, renamed and read, then the bytes arrive in order under the new name', async () => {
    const files = createLocalFolderFiles(root);
    const chunks = [Buffer.from('H\r\n'), Buffer.from('D\r\n'), Buffer.from('T\r\n')];
    await expect(files.upload('/inbox/A.DAT.PART', chunks)).resolves.toEqual({ bytes: 9 });
    await files.rename('/inbox/A.DAT.PART', '/inbox/A.DAT');
    expect((await files.list('/inbox')).map((e) => e.name)).toEqual(['A.DAT']);
    const read: Buffer[] = [];
    for await (const chunk of files.read('/inbox/A.DAT')) read.push(chunk);
    expect(Buffer.concat(read).toString()).toBe('H\r\nD\r\nT\r\n');
    expect(await readFile(join(root, 'inbox', 'A.DAT'), 'utf8')).toBe('H\r\nD\r\nT\r\n');
  });

  it('when the rename target exists, then the rename is refused and nothing is overwritten', async () => {
    const files = createLocalFolderFiles(root);
    await files.upload('/a', [Buffer.from('one')]);
    await files.upload('/b', [Buffer.from('two')]);
    await expect(files.rename('/a', '/b')).rejects.toMatchObject({ kind: 'conflict', code: 'file.exists' });
    expect(await readFile(join(root, 'b'), 'utf8')).toBe('two');
  });

  it('when a path climbs out of the root, then it is refused; a missing file reads as not found', async () => {
    const files = createLocalFolderFiles(root);
    expect(await files.stat('/../../etc/passwd')).toBeNull();
    await expect(files.list('/nope')).rejects.toMatchObject({ kind: 'not_found' });
    const reading = async () => {
      for await (const _ of files.read('/missing.DAT')) void _;
    };
    await expect(reading()).rejects.toMatchObject({ kind: 'not_found' });
  });
});
