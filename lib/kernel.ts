// Facts about the running kernel that the probe needs, read once.
import {
  accessSync,
  closeSync,
  constants as fsConstants,
  openSync,
  readFileSync,
  readSync,
  writeSync,
} from 'node:fs';
import { arch as osArch, release as osRelease } from 'node:os';
import { readMaps, type MapsSnapshot } from './maps.js';
import { native } from './native.js';

export type KernelVersion = [major: number, minor: number, patch: number];

export interface KernelFacts {
  release: string;
  version: KernelVersion;
  arch: string;
  pageSize: number;
  maxMapCount: number;
  /** /proc/self/maps lists a gate VMA ([vsyscall]) that map_count does not count. */
  gateVma: boolean;
  /** Bits of the user address space (47 on x86-64; 39 to 52 on arm64, by VA_BITS and the CPU). */
  vaBits: number;
  /** TASK_SIZE in bytes, from `vaBits` (see taskSizeBytes()). */
  taskSize: number;
  /** /proc/self/mem reads PROT_NONE pages (see readsProtNone()). */
  protNoneReadable: boolean;
  rlimitAs: { cur: string; max: string };
  rlimitData: { cur: string; max: string };
  rlimitMemlock: { cur: string; max: string };
  /** This process may write vm.max_map_count (root with a writable /proc/sys). */
  sysctlWritable: boolean;
  overcommitMemory: number | null;
  mmapMinAddr: number | null;
}

const MACHINE: Record<string, string> = {
  x64: 'x86_64',
  arm64: 'aarch64',
  ia32: 'i686',
  arm: 'armv7l',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loongarch64',
};

/** "6.18.44-fc-v657" -> [6, 18, 44]; "7.0-rc3" -> [7, 0, 0]. */
export function parseKernelVersion(release: string): KernelVersion {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release.trim());
  if (!m) throw new RangeError(`not a kernel release: ${JSON.stringify(release)}`);
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

/** Compares two versions: negative, zero or positive. */
export function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function versionString(v: readonly number[]): string {
  return v.join('.');
}

export const MAX_MAP_COUNT_PATH = '/proc/sys/vm/max_map_count';

export function readNumber(path: string): number | null {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(n) ? n : null;
  } catch (err) {
    // Out of descriptors is not a missing /proc: let the command say what it needs.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EMFILE' || code === 'ENFILE') throw err;
    return null;
  }
}

/** /proc is missing or unreadable: nothing can be measured here. */
export class ProcUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProcUnavailableError';
  }
}

export function readMaxMapCount(): number {
  const n = readNumber(MAX_MAP_COUNT_PATH);
  if (n === null) {
    throw new ProcUnavailableError(
      `cannot read ${MAX_MAP_COUNT_PATH}: is /proc mounted and readable?`,
    );
  }
  return n;
}

function limitText(v: bigint): string {
  return v === native().constants.RLIM_INFINITY ? 'unlimited' : v.toString();
}

/** This process's effective capabilities (CapEff of /proc/self/status); 0 when unknown. */
export function effectiveCapabilities(): bigint {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? BigInt(`0x${m[1]}`) : 0n;
  } catch {
    return 0n;
  }
}

const CAP_SYS_ADMIN = 21n;

function sysctlWritable(): boolean {
  try {
    accessSync(MAX_MAP_COUNT_PATH, fsConstants.W_OK);
  } catch {
    return false;
  }
  // access() says yes to root even without CAP_SYS_ADMIN, which the write needs.
  return (effectiveCapabilities() & (1n << CAP_SYS_ADMIN)) !== 0n;
}

/**
 * TASK_SIZE, the end of the user address space, for `vaBits` bits: x86-64
 * keeps the last page below it unmapped (TASK_SIZE_MAX = 2^47 - PAGE_SIZE,
 * arch/x86/include/asm/page_64_types.h), arm64's is 1 << vabits_actual
 * (TASK_SIZE_64, arch/arm64/include/asm/processor.h).
 */
export function taskSizeBytes(arch: string, vaBits: number, pageSize: number): number {
  return arch === 'x86_64' ? 2 ** vaBits - pageSize : 2 ** vaBits;
}

/** The bits the user addresses of `maps` need: its highest mapping's end, the gate VMA left out. */
export function mappedAddressBits(maps: Pick<MapsSnapshot, 'entries' | 'gateVma'>): number {
  const entries = maps.gateVma ? maps.entries.slice(0, -1) : maps.entries;
  const top = entries.reduce((m, e) => (e.end > m ? e.end : m), 0n);
  return top > 1n ? (top - 1n).toString(2).length : 0;
}

/**
 * The bits of the user address space, measured: the highest mapping gives
 * the default mmap window (the stack lies at its top: 2^47 on x86-64; 2^48,
 * 2^47, 2^42 or 2^39 on arm64, by VA_BITS). A kernel with a wider space
 * (x86-64 with 5-level tables: 56 bits; arm64 with 52-bit addresses on a CPU
 * that has them) uses it only when mmap is given a hint above that window:
 * asked for a page at 2^55, it places it there (x86-64) or at the top of its
 * space (arm64: the search runs down from TASK_SIZE), which gives the bits.
 * The probe's page is unmapped at once. A bottom-up mmap layout (a process
 * with an unlimited stack) would hide a wider space: the window's bits stay.
 */
function userAddressBits(maps: MapsSnapshot, pageSize: number): number {
  const addon = native();
  const c = addon.constants;
  const bits = mappedAddressBits(maps);
  if (bits >= 56) return bits;
  const r = addon.mmap(1n << 55n, pageSize, 0, c.MAP_PRIVATE | c.MAP_ANONYMOUS, -1, 0, false);
  if (!r.ok) return bits;
  addon.munmap(r.value, pageSize, false);
  const end = r.value + BigInt(pageSize) - 1n;
  return r.value >= 1n << BigInt(bits) ? end.toString(2).length : bits;
}

/** This process's maps, or ProcUnavailableError when /proc cannot be read. */
export function readOwnMaps(): MapsSnapshot {
  try {
    return readMaps();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EPERM') {
      throw new ProcUnavailableError(
        `cannot read /proc/self/maps (${code}): is /proc mounted and readable?`,
      );
    }
    throw err;
  }
}

export function kernelFacts(maps: MapsSnapshot = readOwnMaps()): KernelFacts {
  const addon = native();
  const c = addon.constants;
  const release = osRelease();
  const arch = MACHINE[osArch()] ?? osArch();
  const vaBits = userAddressBits(maps, c.PAGE_SIZE);
  const lim = (r: number) => {
    const l = addon.getrlimit(r);
    return { cur: limitText(l.cur), max: limitText(l.max) };
  };
  return {
    release,
    version: parseKernelVersion(release),
    arch,
    pageSize: c.PAGE_SIZE,
    maxMapCount: readMaxMapCount(),
    gateVma: maps.gateVma,
    vaBits,
    taskSize: taskSizeBytes(arch, vaBits, c.PAGE_SIZE),
    protNoneReadable: readsProtNone(c.PAGE_SIZE),
    rlimitAs: lim(c.RLIMIT_AS),
    rlimitData: lim(c.RLIMIT_DATA),
    rlimitMemlock: lim(c.RLIMIT_MEMLOCK),
    sysctlWritable: sysctlWritable(),
    overcommitMemory: readNumber('/proc/sys/vm/overcommit_memory'),
    mmapMinAddr: readNumber('/proc/sys/vm/mmap_min_addr'),
  };
}

/**
 * Whether /proc/self/mem reads a PROT_NONE page, as the lab reads pages: it
 * does with FOLL_FORCE, which the kernel may forbid (proc_mem.force_override,
 * from 6.12: CONFIG_PROC_MEM_FORCE_PTRACE allows it only to a ptracer,
 * CONFIG_PROC_MEM_NO_FORCE never; Debian's 7.x kernels take the first). A
 * page is mapped, stamped, made PROT_NONE and read back; it is unmapped at
 * once. Where /proc/self/mem cannot be opened the lab cannot read such a
 * page either.
 */
export function readsProtNone(pageSize: number): boolean {
  const addon = native();
  const c = addon.constants;
  const r = addon.mmap(
    0n,
    pageSize,
    c.PROT_READ | c.PROT_WRITE,
    c.MAP_PRIVATE | c.MAP_ANONYMOUS,
    -1,
    0,
    false,
  );
  if (!r.ok) return true;
  const mark = Buffer.from('mremap-probe protnone');
  try {
    // Written through /proc/self/mem too, as the lab child writes: a kernel
    // without CONFIG_CROSS_MEMORY_ATTACH (a tinyconfig guest) has no
    // process_vm_writev.
    const fd = openSync('/proc/self/mem', 'r+');
    try {
      if (writeSync(fd, mark, 0, mark.length, Number(r.value)) !== mark.length) return false;
      addon.mprotect(r.value, pageSize, c.PROT_NONE);
      const back = Buffer.alloc(mark.length);
      return readSync(fd, back, 0, back.length, r.value) === back.length && back.equals(mark);
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  } finally {
    addon.munmap(r.value, pageSize, false);
  }
}

/** /proc/meminfo as numbers (kB for sizes); empty where it cannot be read. */
export function meminfo(): Map<string, number> {
  const m = new Map<string, number>();
  let text = '';
  try {
    text = readFileSync('/proc/meminfo', 'utf8');
  } catch {
    return m;
  }
  for (const line of text.split('\n')) {
    const r = /^(\w+):\s+(\d+)/.exec(line);
    if (r) m.set(r[1]!, Number(r[2]));
  }
  return m;
}
