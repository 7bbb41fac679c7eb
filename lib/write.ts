// Writing a file whole or not at all: a temporary file beside it, flushed,
// then renamed over the target; on any failure the temporary file goes.
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Why a file could not be written; `opened` says whether the place could be written at all. */
export class WriteError extends Error {
  constructor(
    message: string,
    readonly opened: boolean,
  ) {
    super(message);
    this.name = 'WriteError';
  }
}

export function writeWhole(path: string, content: string | Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', 0o644);
  } catch (err) {
    throw new WriteError(`cannot write ${path}: ${(err as Error).message}`, false);
  }
  try {
    if (typeof content === 'string') writeSync(fd, content);
    else writeSync(fd, content);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw new WriteError(`cannot write ${path}: ${(err as Error).message}`, true);
  }
}
