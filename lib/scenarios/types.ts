// A scenario is data: the region to lay out, the call to make, the pressure
// to make it under, and what it needs from the machine. The lab runs it, the
// model predicts it, the reproducer writes it as C: all from this description.

export type Prot = 'rw' | 'r' | 'none';
export type BackingKind = 'anon' | 'shmem' | 'memfd';
export type FlagName = 'MAYMOVE' | 'FIXED' | 'DONTUNMAP';
export type Capability = 'CAP_SYS_RAWIO' | 'CAP_IPC_LOCK';

/** One mapping of the layout, made by one mmap() and stamped page by page. */
export interface Piece {
  /** What it stands for: "dst", "old", "old-next"... */
  label: string;
  /** First page, counted from the start of the experiment window. */
  page: number;
  pages: number;
  /** Protection after stamping (every piece is mapped read-write, stamped, then mprotected). */
  prot: Prot;
  backing: BackingKind;
  /** memfd only: the file's size in pages (the mapping starts at offset 0). */
  objectPages?: number;
  /** mlock() it after stamping. */
  mlock?: boolean;
}

/** Pages, counted from the window; `beyond-commit` is resolved against the machine. */
export type Pages = number | 'beyond-commit';

export interface CallSpec {
  old: number;
  oldPages: number;
  newPages: Pages;
  flags: FlagName[];
  /** Flag bits no FlagName stands for (an unknown bit, for invalid calls). */
  otherFlags?: number;
  /** Window page of new_addr; 'zero' for address 0; omitted for calls without one. */
  newAddr?: number | 'zero';
  /**
   * Unaligned calls, in bytes: old_len and new_len this many bytes short of
   * their whole pages (1 to page size - 1), and addr and new_addr this many
   * bytes past the start of their page.
   */
  oldShort?: number;
  newShort?: number;
  oldMisalign?: number;
  newMisalign?: number;
}

export interface Requirements {
  /** Capabilities the child must give up first (root holds them and they hide the checks). */
  dropCaps?: Capability[];
  /** Skip on these vm.overcommit_memory modes. */
  overcommitNot?: number[];
  /** Needs vm.mmap_min_addr > 0. */
  mmapMinAddr?: boolean;
  /** Needs the first kernel that has the feature, e.g. MREMAP_DONTUNMAP in 5.7. */
  minKernel?: [number, number];
  /** Changes machine-wide state for good on a misbehaving kernel (Committed_AS): needs --allow-global-effects. */
  globalEffects?: boolean;
}

/** Soft limits set just before the call, in pages above what the child uses then. */
export interface LimitSpec {
  as?: { headroom: number };
  memlock?: { headroom: number };
}

export interface Scenario {
  /** Stable id: family/dst-X/old-Y/size[+modifier]@pressure. */
  id: string;
  family: string;
  /** One sentence: what the case does and what it tells. */
  summary: string;
  layout: Piece[];
  call: CallSpec;
  /** Map count at the call as an offset from vm.max_map_count, or null for no pressure. */
  pressure: number | null;
  limits?: LimitSpec;
  requires?: Requirements;
  /** Pages of the experiment window (everything the call can touch lies inside, but for new_addr 'zero'). */
  windowPages: Pages;
  /**
   * Cases judged by an invariant rather than by the era's model: 'in-place'
   * (a call that needs no new VMA must not fail), 'accounting' (Committed_AS
   * must follow the charged pages left mapped, cycle after cycle).
   */
  invariant?: 'in-place' | 'accounting' | 'locked-vm';
  /** accounting: how many times the cycle (lay out, call, unmap the window) runs. */
  repeat?: number;
}

export interface Family {
  name: string;
  /** The kernel path(s) this family exercises (docs/kernel/checks.md). */
  exercises: string;
  scenarios: Scenario[];
}

export function pressureText(p: number | null): string {
  if (p === null) return 'none';
  return p === 0 ? 'M' : p > 0 ? `M+${p}` : `M${p}`;
}
