// The Linux ABI's bits the probe names, defined once: mremap() flags and mmap
// protections. They are the same on every architecture. Scenarios speak in
// names ('MAYMOVE', 'rw'); everything that makes or models a call takes the
// bits from here.
import type { FlagName, Prot } from './scenarios/types.js';

export const MREMAP_MAYMOVE = 1;
export const MREMAP_FIXED = 2;
export const MREMAP_DONTUNMAP = 4;

export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;

export const MREMAP_BITS: Readonly<Record<FlagName, number>> = {
  MAYMOVE: MREMAP_MAYMOVE,
  FIXED: MREMAP_FIXED,
  DONTUNMAP: MREMAP_DONTUNMAP,
};

export const PROT_BITS: Readonly<Record<Prot, number>> = {
  rw: PROT_READ | PROT_WRITE,
  r: PROT_READ,
  none: PROT_NONE,
};

/** The flags argument of a call whose flags are named. */
export function flagBits(flags: readonly FlagName[]): number {
  return flags.reduce((f, n) => f | MREMAP_BITS[n], 0);
}

/** "MREMAP_MAYMOVE|MREMAP_FIXED", or "0". */
export function flagText(flags: readonly FlagName[]): string {
  return flags.map((f) => `MREMAP_${f}`).join('|') || '0';
}
