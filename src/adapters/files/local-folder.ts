import { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, readdir, rm, stat, unlink } from 'node:fs/promises';
import { posix, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { ConflictError, NotFoundError } from '../../domain/errors/index.ts';
import type { FileTransferPort, ReadOptions, RemoteEntry } from '../../domain/file-transfer.port.ts';

/**
 * FileTransferPort over a local folder (the folder is the remote root `/`). Used by tests and
 * by the embedded SFTP simulator's own side; the same semantics as the SFTP adapter: rename never
 * overwrites, reads stream in order.
 */
export function createLocalFolderFiles(root: string): FileTransferPort {
  const base = resolve(root);
  const local = (remote: string): string => {
    const normal = posix.normalize(`/${remote}`);
    const full = resolve(base, `.${normal}`);
    if (full !== base && !full.startsWith(base + sep)) throw new Error(`path escapes the root: ${remote}`);
    return full;
  };
  const entry = async (name: string, full: string): Promise<RemoteEntry | null> => {
    try {
      const s = await stat(full);
      return { name, type: s.isDirectory() ? 'dir' : 'file', size: s.size, modifiedAt: s.mtimeMs };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  };

  return {
    async list(dir) {
      const full = local(dir);
      let names: string[];
      try {
        names = await readdir(full);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new NotFoundError('file.not_found', `no folder ${dir}`);
        }
        throw error;
      }
      const entries = await Promise.all(names.map((name) => entry(name, `${full}${sep}${name}`)));
      return entries.filter((e): e is RemoteEntry => e !== null);
    },
    async stat(path) {
      return entry(posix.basename(path), local(path));
    },
    async upload(path, data) {
      const full = local(path);
      await mkdir(resolve(full, '..'), { recursive: true });
      let bytes = 0;
      const source = data instanceof Readable ? data : Readable.from(data);
      source.on('data', (chunk: Uint8Array) => {
        bytes += chunk.length;
      });
      await pipeline(source, createWriteStream(full));
      return { bytes };
    },
    async rename(from, to) {
      const src = local(from);
      const dst = local(to);
      // link + unlink: fails with EEXIST instead of silently replacing the target
      try {
        await link(src, dst);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw new ConflictError('file.exists', `${to} exists`);
        if (code === 'ENOENT') throw new NotFoundError('file.not_found', `no file ${from}`);
        throw error;
      }
      await unlink(src);
    },
    async remove(path) {
      await rm(local(path), { force: true });
    },
    async *read(path, options?: ReadOptions) {
      const full = local(path);
      if ((await entry(posix.basename(path), full)) === null) {
        throw new NotFoundError('file.not_found', `no file ${path}`);
      }
      const stream = createReadStream(full, { highWaterMark: 256 * 1024, signal: options?.signal });
      for await (const chunk of stream) yield chunk as Buffer;
    },
    async close() {},
  };
}
