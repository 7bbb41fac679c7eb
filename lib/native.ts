// Loads the native addon and types its raw exports, once, for the whole package.
// Importing this module never fails: a missing addon is reported by the first
// call that needs it, with what to do about it.
import { existsSync, readdirSync, statSync } from 'node:fs';
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

/** The lab's wire protocol as the addon exports it (native/sys/lab_proto.h). */
export interface NativeProtocol {
  version: number;
  maxOps: number;
  opArgs: number;
  ops: Record<string, number>;
  opRec: { size: number; op: number; flags: number; args: number };
  result: { size: number; ret: number; v: number; dataOff: number; dataLen: number };
  vmaRec: {
    size: number;
    start: number;
    end: number;
    offset: number;
    inode: number;
    devMajor: number;
    devMinor: number;
    perms: number;
    nameLen: number;
    name: number;
    nameBytes: number;
  };
  opFlags: { stopOnError: number };
  queryFlags: { text: number };
  queryMethod: { ioctl: number; text: number };
  procFile: { meminfo: number; status: number };
  pageClass: {
    unmapped: number;
    zero: number;
    stamp: number;
    other: number;
    unreadable: number;
    shift: number;
  };
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
  protocol: NativeProtocol;
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
const require = createRequire(import.meta.url);

interface PrebuildTags {
  file: string;
}
/** The parts of node-gyp-build this module uses: its rules for which prebuild fits. */
interface NodeGypBuild {
  parseTags(file: string): PrebuildTags | undefined;
  matchTags(runtime: string, abi: string): (tags: PrebuildTags | undefined) => boolean;
  compareTags(runtime: string): (a: PrebuildTags, b: PrebuildTags) => number;
}

/**
 * The prebuilt addon for `arch` (Node's names: x64, arm64) in
 * prebuilds/linux-ARCH/, chosen by node-gyp-build's rules (N-API, this C
 * library), or undefined when none fits.
 */
export function prebuildFor(arch: string = process.arch, root = packageRoot): string | undefined {
  const dir = join(root, 'prebuilds', `linux-${arch}`);
  if (!existsSync(dir)) return undefined;
  const ngb = require('node-gyp-build') as NodeGypBuild;
  const winner = readdirSync(dir)
    .map((f) => ngb.parseTags(f))
    .filter(ngb.matchTags('node', process.versions.modules))
    .filter((t): t is PrebuildTags => t !== undefined)
    .sort(ngb.compareTags('node'))[0];
  return winner ? join(dir, winner.file) : undefined;
}

/**
 * Where the addon is looked for, in order: $MREMAP_PROBE_ADDON alone when set
 * (and `env` is not false); else node-gyp's source build, the prebuild that
 * fits (prebuilds/linux-ARCH/, or that directory when none does), and
 * cmake-js's build. For another architecture than this machine's (a guest's),
 * only its prebuild.
 */
export function addonCandidates(
  opts: { arch?: string; root?: string; env?: boolean } = {},
): string[] {
  const { arch = process.arch, root = packageRoot, env = true } = opts;
  const fromEnv = env ? process.env.MREMAP_PROBE_ADDON : undefined;
  if (fromEnv) return [resolve(fromEnv)];
  const prebuild = prebuildFor(arch, root) ?? join(root, 'prebuilds', `linux-${arch}`);
  if (arch !== process.arch) return [prebuild];
  return [
    join(root, 'build', 'Release', 'mremap_probe.node'),
    prebuild,
    join(root, 'build-cmake', 'Release', 'mremap_probe.node'),
  ];
}

let cached: { addon: NativeAddon; path: string } | AddonUnavailableError | undefined;

function load(): { addon: NativeAddon; path: string } | AddonUnavailableError {
  if (process.platform !== 'linux') {
    return new AddonUnavailableError(
      `mremap-probe measures the Linux kernel and runs only on Linux (this is ${process.platform})`,
    );
  }
  const tried: string[] = [];
  for (const path of addonCandidates()) {
    if (!existsSync(path)) {
      tried.push(`${path} (missing)`);
      continue;
    }
    if (statSync(path).isDirectory()) {
      tried.push(`${path}/ (no prebuild there fits Node's N-API on this C library)`);
      continue;
    }
    try {
      return { addon: require(path) as NativeAddon, path };
    } catch (err) {
      tried.push(`${path} (${(err as Error).message.split('\n')[0]})`);
    }
  }
  return new AddonUnavailableError(
    `the native addon of mremap-probe is not built, and no prebuilt one fits linux-${process.arch}. ` +
      `Build it from source with \`npm rebuild mremap-probe\` (in a clone: \`npm install\` or \`npm run build\`); ` +
      `it needs python3, make and g++. Looked for: ${tried.join('; ')}`,
  );
}

/** The addon, or throws AddonUnavailableError saying what to do. */
export function native(): NativeAddon {
  cached ??= load();
  if (cached instanceof AddonUnavailableError) throw cached;
  return cached.addon;
}

/** The file the addon was loaded from, or undefined when it does not load. */
export function addonPath(): string | undefined {
  cached ??= load();
  return cached instanceof AddonUnavailableError ? undefined : cached.path;
}

/** True when the addon loads here. */
export function nativeAvailable(): boolean {
  cached ??= load();
  return !(cached instanceof AddonUnavailableError);
}

export { packageRoot };
