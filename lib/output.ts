// Writing what the user asked for, where the user pointed, and nowhere else.
//
// The tool runs as root, so an output path is looked at before it is written:
// - a regular file, or a path that does not exist yet: written whole or not at
//   all (a temporary file beside it, synced, then renamed over it; a file that
//   existed keeps its mode and owner);
// - a character device (/dev/null, a terminal) or a FIFO: written in place, as
//   a shell redirection would, never replaced by a regular file;
// - /dev/stdout, /dev/stderr, /dev/fd/N and /proc/self/fd/N: that descriptor of
//   this process, in place;
// - any other symbolic link: followed, said on standard error, and its target
//   written by the rules above; a dangling one is refused, since creating a
//   file through it would write where the user did not point;
// - anything else (a directory, a socket, a block device): refused, saying what
//   it is.
// prepareOutput() makes these checks before any work, so a bad --output fails
// before the first case runs; Output.write() checks again just before writing.
import {
  accessSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  openSync,
  readlinkSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/** An output that cannot be written: `usage` when found before any work (exit 2), else a failure. */
export class OutputError extends Error {
  constructor(
    message: string,
    readonly usage: boolean,
  ) {
    super(message);
    this.name = 'OutputError';
  }
}

export type OutputKind = 'new' | 'file' | 'device' | 'fifo' | 'descriptor';

export interface Output {
  /** The path as the user gave it. */
  readonly path: string;
  /** Where the bytes go: the path, a symbolic link's target, or /dev/fd/N. */
  readonly target: string;
  readonly kind: OutputKind;
  /** Set when a symbolic link was followed to somewhere else: one line for standard error. */
  readonly note?: string;
  write(content: string | Uint8Array): void;
}

const isRoot = () => process.getuid?.() === 0;

/** A system error as "permission denied (EACCES)", without Node's syscall and path. */
function errText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (!e.code || !e.message.startsWith(`${e.code}: `)) return e.message;
  return `${e.message.slice(e.code.length + 2).replace(/, \w+ '.*'$/, '')} (${e.code})`;
}

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** What a file system object is, in words, for the ones an output may not be. */
function kindWord(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a file, a character device or a FIFO';
}

/** The descriptor a path names when it is one of this process's own: /dev/stdout, /dev/fd/1... */
function descriptorOf(p: string): number | undefined {
  if (p === '/dev/stdout') return 1;
  if (p === '/dev/stderr') return 2;
  const m = /^\/(?:dev\/fd|proc\/(?:self|thread-self|(\d+))\/fd)\/(\d+)$/.exec(p);
  if (!m || (m[1] !== undefined && Number(m[1]) !== process.pid)) return undefined;
  return Number(m[2]);
}

/** Writes all of a buffer to a descriptor, waiting out a non-blocking one that is full. */
function writeAll(fd: number, content: string | Uint8Array): void {
  const buf = typeof content === 'string' ? Buffer.from(content) : content;
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

/** Checks that a new file can be made beside target, by making and removing one. */
function probeDirectory(target: string, path: string): void {
  const dir = dirname(target);
  let st: Stats;
  try {
    st = statSync(dir);
  } catch (err) {
    throw new OutputError(`cannot write ${path}: no directory ${dir} (${errText(err)})`, true);
  }
  if (!st.isDirectory())
    throw new OutputError(`cannot write ${path}: ${dir} is not a directory`, true);
  const probe = join(dir, `.${basename(target)}.${process.pid}.probe`);
  try {
    closeSync(openSync(probe, 'wx', 0o600));
    unlinkSync(probe);
  } catch (err) {
    throw new OutputError(`cannot write ${path}: ${errText(err)}`, true);
  }
}

/**
 * A regular file written whole or not at all: a temporary file beside it,
 * synced, renamed over it. An existing file keeps its mode and owner.
 * Refuses when the name is taken by anything but a regular file.
 */
export function writeFileWhole(
  target: string,
  content: string | Uint8Array,
  options: { mode?: number; shown?: string } = {},
): void {
  const shown = options.shown ?? target;
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  let fd: number;
  try {
    fd = openSync(
      tmp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      options.mode ?? 0o666,
    );
  } catch (err) {
    throw new OutputError(`cannot write ${shown}: ${errText(err)}`, false);
  }
  try {
    writeAll(fd, content);
    const before = lstatOrNull(target);
    if (before && !before.isFile())
      throw new Error(`it became ${kindWord(before)} while the tool ran`);
    if (before) {
      if (isRoot() && (before.uid !== 0 || before.gid !== 0))
        fchownSync(fd, before.uid, before.gid);
      fchmodSync(fd, before.mode & 0o7777);
    } else if (options.mode !== undefined) fchmodSync(fd, options.mode);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, target);
  } catch (err) {
    if (fd >= 0) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw new OutputError(`cannot write ${shown}: ${errText(err)}`, false);
  }
  // The rename is durable once the directory is synced.
  try {
    const d = openSync(dirname(target), 'r');
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
  } catch {
    // Some file systems refuse fsync on a directory; the file itself is synced.
  }
}

/** Writes in place to a character device or a FIFO, refusing it if it was replaced since the check. */
function writeInPlace(
  target: string,
  shown: string,
  kind: 'device' | 'fifo',
  content: string | Uint8Array,
): void {
  let fd: number;
  try {
    fd = openSync(target, constants.O_WRONLY | constants.O_NOCTTY | constants.O_NOFOLLOW);
  } catch (err) {
    throw new OutputError(`cannot write ${shown}: ${errText(err)}`, false);
  }
  try {
    const st = fstatSync(fd);
    if (kind === 'device' ? !st.isCharacterDevice() : !st.isFIFO())
      throw new Error(`it is no longer a ${kind === 'device' ? 'character device' : 'FIFO'}`);
    writeAll(fd, content);
  } catch (err) {
    throw new OutputError(`cannot write ${shown}: ${errText(err)}`, false);
  } finally {
    closeSync(fd);
  }
}

function descriptorOutput(path: string, fd: number): Output {
  let st: Stats;
  try {
    st = fstatSync(fd);
  } catch {
    throw new OutputError(`cannot write ${path}: descriptor ${fd} is not open`, true);
  }
  if (st.isDirectory()) throw new OutputError(`cannot write ${path}: it is a directory`, true);
  return {
    path,
    target: `/dev/fd/${fd}`,
    kind: 'descriptor',
    write(content) {
      if (fd === 1) writeStdout(content);
      else if (fd === 2) process.stderr.write(content);
      else {
        try {
          writeAll(fd, content);
        } catch (err) {
          throw new OutputError(`cannot write ${path}: ${errText(err)}`, false);
        }
      }
    },
  };
}

/**
 * Looks at an output path before any work and says how it will be written,
 * or refuses it (OutputError with `usage` set).
 */
export function prepareOutput(path: string): Output {
  if (path === '') throw new OutputError('an output file name must not be empty', true);
  if (path.endsWith('/')) throw new OutputError(`cannot write ${path}: it names a directory`, true);
  const fd = descriptorOf(path);
  if (fd !== undefined) return descriptorOutput(path, fd);

  // Follow a chain of symbolic links by hand, so that each hop can be checked.
  let target = resolve(path);
  let st: Stats | null;
  let followed = false;
  for (let hops = 0; ; hops++) {
    try {
      st = lstatOrNull(target);
    } catch (err) {
      throw new OutputError(`cannot write ${path}: ${errText(err)}`, true);
    }
    if (!st?.isSymbolicLink()) break;
    if (hops >= 40) throw new OutputError(`cannot write ${path}: too many symbolic links`, true);
    const link = readlinkSync(target);
    const next = resolve(dirname(target), link);
    const d = descriptorOf(next);
    if (d !== undefined) return descriptorOutput(path, d);
    target = next;
    followed = true;
    if (!lstatOrNull(target)) {
      throw new OutputError(
        `cannot write ${path}: it is a symbolic link to ${link}, which does not exist; refusing to create a file through a symbolic link`,
        true,
      );
    }
  }
  const note = followed ? `${path} is a symbolic link: writing its target ${target}` : undefined;
  const shown = followed ? `${path} (${target})` : path;
  const base = { path, target, ...(note ? { note } : {}) };

  if (st === null) {
    probeDirectory(target, shown);
    return { ...base, kind: 'new', write: (c) => writeFileWhole(target, c, { shown }) };
  }
  if (st.isFile() || st.isCharacterDevice() || st.isFIFO()) {
    try {
      // access(), not open(): opening a FIFO for writing would wait for a reader.
      accessSync(target, constants.W_OK);
    } catch (err) {
      throw new OutputError(`cannot write ${shown}: ${errText(err)}`, true);
    }
  }
  if (st.isFile()) {
    probeDirectory(target, shown);
    return { ...base, kind: 'file', write: (c) => writeFileWhole(target, c, { shown }) };
  }
  if (st.isCharacterDevice() || st.isFIFO()) {
    const kind = st.isFIFO() ? 'fifo' : 'device';
    return { ...base, kind, write: (c) => writeInPlace(target, shown, kind, c) };
  }
  throw new OutputError(`cannot write ${shown}: it is ${kindWord(st)}`, true);
}

let stdoutClosed = false;

/** Writes to standard output; once its reader has gone, quietly nothing. */
export function writeStdout(content: string | Uint8Array): void {
  if (stdoutClosed) return;
  process.stdout.write(content);
}

let guarded = false;

/**
 * A reader that goes away (`mremap-probe report r.json | head -1`) ends the
 * output quietly instead of with an EPIPE stack; the command keeps its own
 * exit status. Other errors on the standard streams are said once.
 */
export function guardStandardStreams(): void {
  if (guarded) return;
  guarded = true;
  let said = false;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || stdoutClosed) {
      stdoutClosed = true;
      return;
    }
    stdoutClosed = true;
    if (!said) {
      said = true;
      process.stderr.write(`mremap-probe: cannot write standard output: ${err.message}\n`);
    }
    process.exitCode = 1;
  });
  // Standard error's reader may go too; nothing is left to say it on.
  process.stderr.on('error', () => {});
}
