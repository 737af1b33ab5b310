// The FileTransferPort behaviours the batch jobs rely on, run against every SFTP server the
// adapter is tested with (the embedded one and a real OpenSSH). `/inbox` and `/outbox` must exist.
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { FileTransferPort } from '../../../domain/file-transfer.port.ts';

export interface ContractTarget {
  files: FileTransferPort & { close(): Promise<void> };
  /** the local folder the server shows as `/` */
  localRoot: string;
}

const unique = (base: string) => `${base}_${randomBytes(4).toString('hex').toUpperCase()}`;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Registers the contract's tests; `make` is called once per test (with the read depth to use, if any). */
export function runAdapterContract(make: (opts?: { readDepth?: number }) => ContractTarget): void {
  it('when a file is uploaded as .PART and renamed, then only the final name is listed, with the size and bytes uploaded', async () => {
    const { files, localRoot } = make();
    const name = `${unique('TPU_20261127')}.DAT`;
    const body = Buffer.from('H20261127001GATEWAY\r\n'.repeat(1000));
    await expect(files.upload(`/inbox/${name}.PART`, [body.subarray(0, 5000), body.subarray(5000)])).resolves.toEqual({ bytes: body.length });
    await files.rename(`/inbox/${name}.PART`, `/inbox/${name}`);
    const names = (await files.list('/inbox')).map((e) => e.name);
    expect(names).toContain(name);
    expect(names).not.toContain(`${name}.PART`);
    expect(await files.stat(`/inbox/${name}`)).toMatchObject({ name, type: 'file', size: body.length });
    expect((await readFile(join(localRoot, 'inbox', name))).equals(body)).toBe(true);
  });

  it('when the rename target exists, then rename fails with ConflictError and neither file changes', async () => {
    const { files, localRoot } = make();
    const a = unique('A');
    const b = unique('B');
    await files.upload(`/inbox/${a}`, [Buffer.from('first')]);
    await files.upload(`/inbox/${b}`, [Buffer.from('second')]);
    await expect(files.rename(`/inbox/${a}`, `/inbox/${b}`)).rejects.toMatchObject({ kind: 'conflict', code: 'file.exists' });
    expect(await readFile(join(localRoot, 'inbox', b), 'utf8')).toBe('second');
    expect(await readFile(join(localRoot, 'inbox', a), 'utf8')).toBe('first');
  });

  it('when the rename source is missing, then rename fails with NotFoundError', async () => {
    const { files } = make();
    await expect(files.rename(`/inbox/${unique('NONE')}`, `/inbox/${unique('X')}`)).rejects.toMatchObject({ kind: 'not_found' });
  });

  it('when listing and statting, then folders and files are told apart and a missing path is null or NotFoundError', async () => {
    const { files } = make();
    const root = await files.list('/');
    expect(root.filter((e) => e.name === 'inbox' || e.name === 'outbox').map((e) => e.type)).toEqual(['dir', 'dir']);
    expect(await files.stat(`/inbox/${unique('MISSING')}`)).toBeNull();
    await expect(files.list(`/${unique('nofolder')}`)).rejects.toMatchObject({ kind: 'not_found' });
  });

  it('when a file is removed twice, then the second remove is not an error', async () => {
    const { files } = make();
    const name = `/outbox/${unique('GONE')}`;
    await files.upload(name, [Buffer.from('x')]);
    await files.remove(name);
    await files.remove(name);
    expect(await files.stat(name)).toBeNull();
  });

  it('when a missing file is read, then NotFoundError', async () => {
    const { files } = make();
    const read = async () => {
      for await (const _ of files.read(`/outbox/${unique('NONE')}`)) throw new Error('no bytes expected');
    };
    await expect(read()).rejects.toMatchObject({ kind: 'not_found' });
  });

  it.each([64, 16, 1])(
    'when a 20 MB file is read with %i reads in flight, then the bytes handed over are identical and in order',
    async (depth) => {
      const { files, localRoot } = make({ readDepth: depth });
      const name = unique('BIG');
      const body = randomBytes(20 * 1024 * 1024 + 12345);
      await writeFile(join(localRoot, 'outbox', name), body);
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of files.read(`/outbox/${name}`)) {
        hash.update(chunk);
        bytes += chunk.length;
      }
      expect(bytes).toBe(body.length);
      expect(hash.digest('hex')).toBe(sha256(body));
    },
    60_000,
  );
}
