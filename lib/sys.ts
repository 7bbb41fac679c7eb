// The memory-management syscalls for TypeScript callers: arguments checked
// before anything reaches the kernel, addresses as BigInt, failures as errors
// shaped like Node's own (code, negative errno, syscall), or, with the try*
// forms, as an outcome value that experiments can inspect without try/catch.
import { native, type SyscallOutcome } from './native.js';

export type { SyscallOutcome, SyscallFailure, SyscallSuccess } from './native.js';

/** An error from a failed system call, as Node shapes its own. */
export interface SystemCallError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

export function isSystemCallError(err: unknown): err is SystemCallError {
  return (
    err instanceof Error &&
    typeof (err as SystemCallError).code === 'string' &&
    typeof (err as SystemCallError).errno === 'number' &&
    typeof (err as SystemCallError).syscall === 'string'
  );
}

import {
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
} from './bits.js';

export {
  MREMAP_MAYMOVE,
  MREMAP_FIXED,
  MREMAP_DONTUNMAP,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  PROT_EXEC,
} from './bits.js';

const MAX_U64 = (1n << 64n) - 1n;

function checkAddress(name: string, value: unknown): bigint {
  if (typeof value !== 'bigint') {
    throw new TypeError(`${name} must be a BigInt address (got ${typeof value})`);
  }
  if (value < 0n || value > MAX_U64) throw new RangeError(`${name} must be in 0..2^64-1`);
  return value;
}

function checkLength(name: string, value: unknown): bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`${name} must be an integer`);
    value = BigInt(value);
  }
  if (typeof value !== 'bigint') {
    throw new TypeError(`${name} must be a Number or a BigInt (got ${typeof value})`);
  }
  if (value < 0n) throw new RangeError(`${name} must not be negative`);
  if (value > MAX_U64) throw new RangeError(`${name} must be below 2^64`);
  return value;
}

function checkInt(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${name} must be an integer Number`);
  }
  return value;
}

function checkFlags(name: string, value: unknown, known: number): number {
  const v = checkInt(name, value);
  if (v < 0 || (v & ~known) !== 0) {
    throw new RangeError(`${name} has unknown bits 0x${(v & (~known >>> 0)).toString(16)}`);
  }
  return v;
}

function mmapFlagsKnown(): number {
  const c = native().constants;
  return (
    c.MAP_SHARED |
    c.MAP_PRIVATE |
    c.MAP_FIXED |
    c.MAP_ANONYMOUS |
    c.MAP_NORESERVE |
    c.MAP_POPULATE |
    c.MAP_FIXED_NOREPLACE
  );
}

const PROT_KNOWN = PROT_READ | PROT_WRITE | PROT_EXEC;
const MREMAP_KNOWN = MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP;

export function tryMmap(
  addr: bigint,
  length: number | bigint,
  prot: number,
  flags: number,
  fd = -1,
  offset: number | bigint = 0,
): SyscallOutcome {
  return native().mmap(
    checkAddress('addr', addr),
    checkLength('length', length),
    checkFlags('prot', prot, PROT_KNOWN),
    checkFlags('flags', flags, mmapFlagsKnown()),
    checkInt('fd', fd),
    checkLength('offset', offset),
    false,
  );
}

export function tryMunmap(addr: bigint, length: number | bigint): SyscallOutcome {
  return native().munmap(checkAddress('addr', addr), checkLength('length', length), false);
}

export function tryMremap(
  oldAddress: bigint,
  oldLength: number | bigint,
  newLength: number | bigint,
  flags: number,
  newAddress = 0n,
): SyscallOutcome {
  return native().mremap(
    checkAddress('oldAddress', oldAddress),
    checkLength('oldLength', oldLength),
    checkLength('newLength', newLength),
    checkFlags('flags', flags, MREMAP_KNOWN),
    checkAddress('newAddress', newAddress),
    false,
  );
}

export function tryMprotect(addr: bigint, length: number | bigint, prot: number): SyscallOutcome {
  return native().mprotect(
    checkAddress('addr', addr),
    checkLength('length', length),
    checkFlags('prot', prot, PROT_KNOWN),
    false,
  );
}

export function tryMadvise(addr: bigint, length: number | bigint, advice: number): SyscallOutcome {
  return native().madvise(
    checkAddress('addr', addr),
    checkLength('length', length),
    checkInt('advice', advice),
    false,
  );
}

export function tryMlock(addr: bigint, length: number | bigint): SyscallOutcome {
  return native().mlock(checkAddress('addr', addr), checkLength('length', length), false);
}

export function tryMunlock(addr: bigint, length: number | bigint): SyscallOutcome {
  return native().munlock(checkAddress('addr', addr), checkLength('length', length), false);
}

export function trySetrlimit(resource: number, cur: bigint, max: bigint): SyscallOutcome {
  return native().setrlimit(
    checkInt('resource', resource),
    checkAddress('cur', cur),
    checkAddress('max', max),
    false,
  );
}

/** Turns an outcome back into a value, throwing the error Node would. */
export function unwrap(outcome: SyscallOutcome): bigint {
  if (outcome.ok) return outcome.value;
  throw systemCallError(outcome.code, outcome.errno, outcome.syscall);
}

/** Builds the error a failed call throws: `ENOMEM: Cannot allocate memory, mremap`. */
export function systemCallError(code: string, errno: number, syscall: string): SystemCallError {
  const err = new Error(`${code}: ${native().strerror(-errno)}, ${syscall}`) as SystemCallError;
  err.code = code;
  err.errno = errno;
  err.syscall = syscall;
  return err;
}

export const mmap = (...a: Parameters<typeof tryMmap>): bigint => unwrap(tryMmap(...a));
export const munmap = (...a: Parameters<typeof tryMunmap>): bigint => unwrap(tryMunmap(...a));
export const mremap = (...a: Parameters<typeof tryMremap>): bigint => unwrap(tryMremap(...a));
export const mprotect = (...a: Parameters<typeof tryMprotect>): bigint => unwrap(tryMprotect(...a));
export const madvise = (...a: Parameters<typeof tryMadvise>): bigint => unwrap(tryMadvise(...a));
export const mlock = (...a: Parameters<typeof tryMlock>): bigint => unwrap(tryMlock(...a));
export const munlock = (...a: Parameters<typeof tryMunlock>): bigint => unwrap(tryMunlock(...a));
export const setrlimit = (...a: Parameters<typeof trySetrlimit>): bigint =>
  unwrap(trySetrlimit(...a));

/** Residency of each page of [addr, addr+length): one byte per page, bit 0 set when resident. */
export function mincore(addr: bigint, length: number | bigint): Uint8Array {
  const len = checkLength('length', length);
  const page = BigInt(native().constants.PAGE_SIZE);
  const vec = new Uint8Array(Number((len + page - 1n) / page));
  native().mincore(checkAddress('addr', addr), len, vec);
  return vec;
}

export function getrlimit(resource: number): { cur: bigint; max: bigint } {
  return native().getrlimit(checkInt('resource', resource));
}

/** Copies bytes out of this process's memory; a bad address is EFAULT, not a crash. */
export function readMemory(addr: bigint, length: number): Buffer {
  return native().readMemory(checkAddress('addr', addr), checkLength('length', length));
}

/** Copies bytes into this process's memory; a bad address is EFAULT, not a crash. */
export function writeMemory(addr: bigint, data: Uint8Array): number {
  if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array');
  return native().writeMemory(checkAddress('addr', addr), data);
}

export function pageSize(): number {
  return native().constants.PAGE_SIZE;
}

export function constants() {
  return native().constants;
}
