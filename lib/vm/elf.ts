// What the guest initramfs needs to know about a 64-bit little-endian ELF
// binary without running it (it may be another architecture's): its machine,
// its program interpreter, and the shared libraries it names (DT_NEEDED), so
// that a node and its libraries can be copied out of an unpacked Debian root.
import {
  closeSync,
  existsSync,
  lstatSync,
  openSync,
  readFileSync,
  readlinkSync,
  readSync,
} from 'node:fs';
import { dirname, join, posix } from 'node:path';

export interface ElfInfo {
  /** e_machine: 62 x86-64, 183 aarch64. */
  machine: number;
  /** PT_INTERP: the dynamic loader's path, or undefined for a static binary. */
  interp?: string;
  /** DT_NEEDED, in order. */
  needed: string[];
  /** DT_RUNPATH or DT_RPATH, split at ':'. */
  runpath: string[];
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;
const DT_RPATH = 15n;
const DT_RUNPATH = 29n;

function readAt(fd: number, offset: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  const n = readSync(fd, b, 0, length, offset);
  return b.subarray(0, n);
}

/** Reads an ELF file's headers; throws when it is not a 64-bit little-endian ELF file. */
export function readElf(path: string): ElfInfo {
  const fd = openSync(path, 'r');
  try {
    const eh = readAt(fd, 0, 64);
    if (eh.length < 64 || eh.readUInt32BE(0) !== 0x7f454c46 || eh[4] !== 2 || eh[5] !== 1)
      throw new Error(`${path} is not a 64-bit little-endian ELF file`);
    const machine = eh.readUInt16LE(0x12);
    const phoff = Number(eh.readBigUInt64LE(0x20));
    const phentsize = eh.readUInt16LE(0x36);
    const phnum = eh.readUInt16LE(0x38);
    const ph = readAt(fd, phoff, phentsize * phnum);
    const loads: { vaddr: bigint; offset: bigint; filesz: bigint }[] = [];
    let interp: string | undefined;
    let dynamic: { offset: number; size: number } | undefined;
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      const type = ph.readUInt32LE(o);
      const offset = ph.readBigUInt64LE(o + 8);
      const vaddr = ph.readBigUInt64LE(o + 16);
      const filesz = ph.readBigUInt64LE(o + 32);
      if (type === PT_LOAD) loads.push({ vaddr, offset, filesz });
      else if (type === PT_INTERP)
        interp = readAt(fd, Number(offset), Number(filesz))
          .toString('latin1')
          .replace(/\0.*$/s, '');
      else if (type === PT_DYNAMIC) dynamic = { offset: Number(offset), size: Number(filesz) };
    }
    const info: ElfInfo = { machine, needed: [], runpath: [], ...(interp ? { interp } : {}) };
    if (!dynamic) return info;
    const dyn = readAt(fd, dynamic.offset, dynamic.size);
    const entries: [bigint, bigint][] = [];
    for (let o = 0; o + 16 <= dyn.length; o += 16) {
      const tag = dyn.readBigInt64LE(o);
      if (tag === 0n) break;
      entries.push([tag, dyn.readBigUInt64LE(o + 8)]);
    }
    // DT_STRTAB is an address: the PT_LOAD segment that holds it gives its file offset.
    const strtab = entries.find(([t]) => t === DT_STRTAB)?.[1];
    const seg =
      strtab === undefined
        ? undefined
        : loads.find((l) => strtab >= l.vaddr && strtab < l.vaddr + l.filesz);
    if (strtab === undefined || !seg) return info;
    const base = Number(strtab - seg.vaddr + seg.offset);
    const str = (off: bigint) => {
      const b = readAt(fd, base + Number(off), 4096);
      return b.toString('latin1', 0, b.indexOf(0) < 0 ? b.length : b.indexOf(0));
    };
    for (const [tag, val] of entries) {
      if (tag === DT_NEEDED) info.needed.push(str(val));
      else if (tag === DT_RUNPATH || tag === DT_RPATH) info.runpath.push(...str(val).split(':'));
    }
    return info;
  } finally {
    closeSync(fd);
  }
}

/**
 * A path inside `root` with every symbolic link followed as the guest would
 * follow it: absolute targets are taken from `root`, not from this machine.
 * Returns the path in the guest, or undefined when nothing is there.
 */
export function resolveInRoot(root: string, guestPath: string): string | undefined {
  const parts = posix.normalize(guestPath).split('/').filter(Boolean);
  let at = '/';
  for (let hops = 0; parts.length;) {
    const next = posix.join(at, parts.shift()!);
    const host = join(root, next);
    let st;
    try {
      st = lstatSync(host);
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      if (++hops > 40) return undefined;
      const target = readlinkSync(host);
      parts.unshift(...target.split('/').filter(Boolean));
      at = target.startsWith('/') ? '/' : at;
    } else at = next;
  }
  return at;
}

/** The library directories the loader searches in a Debian root of this multiarch triplet. */
export function libraryDirs(triplet: string): string[] {
  return [`/lib/${triplet}`, `/usr/lib/${triplet}`, '/lib', '/usr/lib'];
}

export interface RootFile {
  /** Where the guest looks for it. */
  path: string;
  /** The file on this machine with its content. */
  from: string;
}

/**
 * A binary of a Debian root and everything it loads: its interpreter and its
 * shared libraries, transitively, each at the path the guest's loader looks
 * at. Throws when a library cannot be found in the root.
 */
export function closure(root: string, binary: string, triplet: string): RootFile[] {
  const out = new Map<string, RootFile>();
  const real = (p: string) => {
    const r = resolveInRoot(root, p);
    return r && existsSync(join(root, r)) ? join(root, r) : undefined;
  };
  const add = (path: string): string => {
    const from = real(path);
    if (!from) throw new Error(`${path} is not in ${root}`);
    if (!out.has(path)) out.set(path, { path, from });
    return from;
  };
  const visit = (guestPath: string) => {
    const from = add(guestPath);
    const e = readElf(from);
    if (e.interp && !out.has(e.interp)) add(e.interp);
    const dirs = [
      ...e.runpath.map((d) => d.replace('$ORIGIN', dirname(guestPath))),
      ...libraryDirs(triplet),
    ];
    for (const name of e.needed) {
      const found = dirs.map((d) => posix.join(d, name)).find((p) => real(p));
      if (!found) throw new Error(`${name}, needed by ${guestPath}, is not in ${root}`);
      if (!out.has(found)) visit(found);
    }
  };
  visit(binary);
  return [...out.values()];
}

/**
 * The JavaScript files a Debian node reads at start instead of carrying them
 * (its shared builtins: acorn, undici, cjs-module-lexer... under
 * /usr/share/nodejs), named as absolute paths in the node binary and libnode.
 * Those present in `root`, at their paths.
 */
export function sharedBuiltins(root: string, files: RootFile[]): RootFile[] {
  const out = new Map<string, RootFile>();
  for (const f of files.filter((x) => /(^|\/)(node|libnode\.so[.\d]*)$/.test(x.path))) {
    const text = readFileSync(f.from).toString('latin1');
    for (const m of text.matchAll(/\/usr\/share\/nodejs\/[\w@./-]+?\.js(?=\0)/g)) {
      const r = resolveInRoot(root, m[0]);
      if (r && existsSync(join(root, r))) out.set(m[0], { path: m[0], from: join(root, r) });
    }
  }
  return [...out.values()];
}
