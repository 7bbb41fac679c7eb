// Loads the native addon and types its raw exports, once, for the whole package.
// Importing this module never fails: a missing addon is reported by the first
// call that needs it, with what to do about it.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SyscallFailure {
  ok: false;
  code: string;
  errno: number;
  syscall: string;
}
export interface SyscallSuccess {
  ok: true;
  value: bigint;
}
export type SyscallOutcome = SyscallSuccess | SyscallFailure;

export interface NativeConstants {
  PAGE_SIZE: number;
  PROT_NONE: number;
  PROT_READ: number;
  PROT_WRITE: number;
  PROT_EXEC: number;
  MAP_SHARED: number;
  MAP_PRIVATE: number;
  MAP_FIXED: number;
  MAP_ANONYMOUS: number;
  MAP_NORESERVE: number;
  MAP_POPULATE: number;
  MAP_FIXED_NOREPLACE: number;
  MREMAP_MAYMOVE: number;
  MREMAP_FIXED: number;
  MREMAP_DONTUNMAP: number;
  MADV_NORMAL: number;
  MADV_DONTNEED: number;
  MADV_DONTFORK: number;
  RLIMIT_AS: number;
  RLIMIT_DATA: number;
  RLIMIT_MEMLOCK: number;
  RLIMIT_NOFILE: number;
  LOCK_SH: number;
  LOCK_EX: number;
  LOCK_NB: number;
  LOCK_UN: number;
  RLIM_INFINITY: bigint;
}

export type LabEnd =
  | { status: 'timeout' }
  | { status: 'exited'; exitCode: number }
  | { status: 'signaled'; signal: number }
  | { status: 'closed' };

export type LabCallResult =
  { status: 'ok'; executed: number; results: Buffer; data: Buffer } | LabEnd;

export interface NativeLab {
  readonly pid: number;
  readonly state: { status: 'running' } | LabEnd;
  call(ops: Uint8Array, timeoutMs: number): LabCallResult;
  close(): LabEnd;
}

type Len = number | bigint;
// The throwing form returns the value; the outcome form never throws for a failed syscall.
interface Syscall<A extends unknown[]> {
  (...args: [...A, true?]): bigint;
  (...args: [...A, false]): SyscallOutcome;
}

export interface NativeAddon {
  constants: NativeConstants;
  mmap: Syscall<[addr: bigint, length: Len, prot: number, flags: number, fd: number, offset: Len]>;
  munmap: Syscall<[addr: bigint, length: Len]>;
  mremap: Syscall<
    [oldAddress: bigint, oldLength: Len, newLength: Len, flags: number, newAddress: bigint]
  >;
  mprotect: Syscall<[addr: bigint, length: Len, prot: number]>;
  madvise: Syscall<[addr: bigint, length: Len, advice: number]>;
  mincore: Syscall<[addr: bigint, length: Len, vec: Uint8Array]>;
  mlock: Syscall<[addr: bigint, length: Len]>;
  munlock: Syscall<[addr: bigint, length: Len]>;
  getrlimit(resource: number): { cur: bigint; max: bigint };
  setrlimit: Syscall<[resource: number, cur: bigint, max: bigint]>;
  /** flock(2) on an open descriptor: LOCK_SH or LOCK_EX (| LOCK_NB), or LOCK_UN. */
  flock: Syscall<[fd: number, operation: number]>;
  readMaps(pid: number, buffer: Uint8Array): number;
  readMemory(addr: bigint, length: Len): Buffer;
  writeMemory(addr: bigint, data: Uint8Array): number;
  errnoName(errno: number): string;
  /** The C library's message for a (positive) errno. */
  strerror(errno: number): string;
  /** getrusage(): this process, or (children = true) its reaped descendants. */
  rusage(children?: boolean): { userUs: number; systemUs: number; maxRssKb: number };
  Lab: new (dataBytes?: Len) => NativeLab;
}

/** Thrown when a call needs the native addon and it cannot be loaded. */
export class AddonUnavailableError extends Error {
  readonly code = 'ERR_MREMAP_PROBE_ADDON';
  constructor(message: string) {
    super(message);
    this.name = 'AddonUnavailableError';
  }
}

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the addon is looked for, in order: $MREMAP_PROBE_ADDON, node-gyp's build, cmake-js's. */
export function addonCandidates(): string[] {
  const fromEnv = process.env.MREMAP_PROBE_ADDON;
  const list = [
    join(packageRoot, 'build', 'Release', 'mremap_probe.node'),
    join(packageRoot, 'build-cmake', 'Release', 'mremap_probe.node'),
  ];
  return fromEnv ? [resolve(fromEnv)] : list;
}

let cached: NativeAddon | AddonUnavailableError | undefined;

function load(): NativeAddon | AddonUnavailableError {
  if (process.platform !== 'linux') {
    return new AddonUnavailableError(
      `mremap-probe measures the Linux kernel and runs only on Linux (this is ${process.platform})`,
    );
  }
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  for (const path of addonCandidates()) {
    if (!existsSync(path)) {
      tried.push(`${path} (missing)`);
      continue;
    }
    try {
      return require(path) as NativeAddon;
    } catch (err) {
      tried.push(`${path} (${(err as Error).message.split('\n')[0]})`);
    }
  }
  return new AddonUnavailableError(
    `the native addon of mremap-probe is not built. Run \`npm install\` (or \`npm run build\`) in ${packageRoot}; ` +
      `it needs python3, make and g++. Looked for: ${tried.join('; ')}`,
  );
}

/** The addon, or throws AddonUnavailableError saying what to do. */
export function native(): NativeAddon {
  cached ??= load();
  if (cached instanceof AddonUnavailableError) throw cached;
  return cached;
}

/** True when the addon loads here. */
export function nativeAvailable(): boolean {
  cached ??= load();
  return !(cached instanceof AddonUnavailableError);
}

export { packageRoot };
