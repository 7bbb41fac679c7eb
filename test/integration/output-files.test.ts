// Where --output writes, as root: a regular file (or a new one) whole, by a
// rename; a character device, a FIFO or /dev/stdout in place, never replaced
// by a regular file; a symbolic link followed aloud, a dangling one refused;
// a directory, a socket or a block device refused before any work. Every
// node is made in a temporary directory, never in the real /dev.
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  createReadStream,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, cli, isLinux, isRoot, root } from '../helpers.js';

const CASE = 'fixed/dst-mid/old-mid/shrink@M-4';
/** A C reproducer needs no lab: the quickest command that writes --output. */
const repro = (out: string) => cli(['repro', CASE, '--no-run', '--output', out]);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mp-output-'));
});
afterAll(() => {
  spawnSync('rm', ['-rf', dir]);
});

/** Temporary files the writer leaves behind would start with a dot. */
const leftovers = (d: string) => readdirSync(d).filter((f) => f.startsWith('.'));

describe('--output names a file', () => {
  it("'' is a usage error, before any work", () => {
    const r = cli(['run', '--output', '', '--format', 'json']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--output wants a file name/);
    expect(r.stdout).toBe('');
  });

  it('a new file is written whole', () => {
    const out = join(dir, 'new.c');
    const r = repro(out);
    expect(r.status).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/int main/);
    expect(leftovers(dir)).toEqual([]);
  });

  it('a file in a directory that does not exist is a usage error', () => {
    const r = repro(join(dir, 'no-such-dir', 'x.c'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no directory/);
  });

  it('a directory is refused before the first case runs, saying what it is', () => {
    const d = join(dir, 'a-dir');
    mkdirSync(d);
    const r = cli(['run', '--format', 'json', '--output', d]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/is a directory/);
    expect(statSync(d).isDirectory()).toBe(true);
    expect(repro(d).status).toBe(2);
  });

  it('sysctl.ts and output.ts do not reach into the command line', () => {
    for (const f of ['lib/sysctl.ts', 'lib/output.ts'])
      expect(readFileSync(join(root, f), 'utf8')).not.toMatch(/from '\.\/cli\//);
  });
});

describe('symbolic links', () => {
  it('a link to a regular file writes the file and keeps the link, and says so', () => {
    const target = join(dir, 'real.c');
    writeFileSync(target, 'old\n');
    const link = join(dir, 'link.c');
    symlinkSync(target, link);
    const r = repro(link);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/link\.c is a symbolic link: writing its target .*real\.c/);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(target);
    expect(readFileSync(target, 'utf8')).toMatch(/int main/);
  });

  it('a dangling link is refused, and nothing is made at its target', () => {
    const link = join(dir, 'dangling.c');
    const nowhere = join(dir, 'nowhere.c');
    symlinkSync(nowhere, link);
    const r = repro(link);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/symbolic link to .*nowhere\.c, which does not exist/);
    expect(existsSync(nowhere)).toBe(false);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });

  it('/dev/stdout, and a link to it, write standard output in place', () => {
    const a = repro('/dev/stdout');
    expect(a.status).toBe(0);
    expect(a.stdout).toMatch(/int main/);
    const link = join(dir, 'to-stdout');
    symlinkSync('/dev/stdout', link);
    const b = repro(link);
    expect(b.status).toBe(0);
    expect(b.stdout).toMatch(/int main/);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });
});

describe('special files', () => {
  it('a FIFO is written in place and stays a FIFO', async () => {
    const fifo = join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const child = spawn(process.execPath, [bin, 'repro', CASE, '--no-run', '--output', fifo]);
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      const rs = createReadStream(fifo);
      rs.on('data', (d) => chunks.push(d as Buffer));
      rs.on('end', resolve);
      rs.on('error', reject);
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    expect(Buffer.concat(chunks).toString()).toMatch(/int main/);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    // A writer that replaced the FIFO would leave the reader waiting: fail soon instead.
  }, 20_000);

  it('a socket is refused, saying what it is', async () => {
    const sock = join(dir, 'sock');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    try {
      const r = repro(sock);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/is a socket/);
      expect(lstatSync(sock).isSocket()).toBe(true);
    } finally {
      server.close();
    }
  });
});

describe.skipIf(!isLinux || !isRoot)('device nodes and ownership (root)', () => {
  it('a character device (a null device made here) is written in place and stays one', () => {
    const dev = join(dir, 'null');
    expect(spawnSync('mknod', ['-m', '666', dev, 'c', '1', '3']).status).toBe(0);
    const r = repro(dev);
    expect(r.status).toBe(0);
    const st = lstatSync(dev);
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(statSync('/dev/null').rdev);
    expect(leftovers(dir)).toEqual([]);
  });

  it('run --output onto a character device writes the report into it, not over it', () => {
    const dev = join(dir, 'null2');
    expect(spawnSync('mknod', ['-m', '666', dev, 'c', '1', '3']).status).toBe(0);
    const r = cli(['run', '--list', '--format', 'json', '--output', dev]);
    expect(r.status).toBe(0);
    expect(lstatSync(dev).isCharacterDevice()).toBe(true);
  });

  it('a block device is refused before anything is written, saying what it is', () => {
    const blk = join(dir, 'loop');
    // loop0's numbers; the node is only looked at, never opened.
    expect(spawnSync('mknod', [blk, 'b', '7', '0']).status).toBe(0);
    const r = repro(blk);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/is a block device/);
    expect(lstatSync(blk).isBlockDevice()).toBe(true);
  });

  it("replacing a user's file keeps its owner and mode", () => {
    const f = join(dir, 'users.c');
    writeFileSync(f, 'old\n');
    chownSync(f, 65534, 65534);
    chmodSync(f, 0o640);
    const r = repro(f);
    expect(r.status).toBe(0);
    const st = statSync(f);
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([65534, 65534, 0o640]);
    expect(readFileSync(f, 'utf8')).toMatch(/int main/);
  });
});
