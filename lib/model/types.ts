// What the model takes and gives: the call, the environment it runs in, the
// step trace and the predicted outcome.
import type { KernelVersion } from '../kernel.js';
import type { VmaSet } from './vmas.js';

export const ERAS = ['pre-5.1', '5.1-5.15', '5.16-6.14', '6.15-6.16', '6.17-7.0', '7.1+'] as const;
export type EraId = (typeof ERAS)[number];

/** The releases each era covers, inclusive, as [major, minor]. */
export const ERA_RANGES: Record<EraId, [from: [number, number], to: [number, number]]> = {
  'pre-5.1': [
    [2, 6],
    [5, 0],
  ],
  '5.1-5.15': [
    [5, 1],
    [5, 15],
  ],
  '5.16-6.14': [
    [5, 16],
    [6, 14],
  ],
  '6.15-6.16': [
    [6, 15],
    [6, 16],
  ],
  '6.17-7.0': [
    [6, 17],
    [7, 0],
  ],
  '7.1+': [
    [7, 1],
    [99, 99],
  ],
};

export function isEra(s: string): s is EraId {
  return (ERAS as readonly string[]).includes(s);
}

/** The era a kernel version belongs to. */
export function eraOfVersion(v: KernelVersion): EraId {
  const key = v[0] * 1000 + v[1];
  for (const era of ERAS) {
    const [from, to] = ERA_RANGES[era];
    if (key >= from[0] * 1000 + from[1] && key <= to[0] * 1000 + to[1]) return era;
  }
  return v[0] < 2 ? 'pre-5.1' : '7.1+';
}

/**
 * The version whose features (not check order) an era's model uses: the real
 * kernel's version, clamped into the era. A 6.18 kernel judged by the
 * 5.1-5.15 model is modelled as 5.15, with MREMAP_DONTUNMAP as 5.15 had it.
 */
export function featureVersion(era: EraId, actual: KernelVersion): KernelVersion {
  const [from, to] = ERA_RANGES[era];
  const key = actual[0] * 1000 + actual[1];
  if (key < from[0] * 1000 + from[1]) return [from[0], from[1], 0];
  if (key > to[0] * 1000 + to[1]) return [to[0], to[1], 999];
  return actual;
}

export function atLeast(v: KernelVersion, major: number, minor: number): boolean {
  return v[0] > major || (v[0] === major && v[1] >= minor);
}

/** A release of a later series, or of this series from this stable update on (a backported fix). */
export function hasFix(v: KernelVersion, major: number, minor: number, patch: number): boolean {
  return (v[0] === major && v[1] === minor && v[2] >= patch) || atLeast(v, major, minor + 1);
}

/** One mremap() call, in pages: lengths as PAGE_ALIGN() rounds them up. */
export interface MremapCall {
  old: number;
  oldLen: number;
  newLen: number;
  flags: number;
  /** Page number of new_addr (0 for none). */
  newAddr: number;
  /** What the pages hide, for unaligned calls: addr or new_addr off a page boundary, the lengths in bytes as passed. */
  raw?: { addrOff?: number; newAddrOff?: number; oldBytes?: number; newBytes?: number };
}

export interface Overcommit {
  /** vm.overcommit_memory: 0 heuristic, 1 always, 2 never. */
  mode: number;
  /** totalram_pages() + total_swap_pages: the heuristic mode refuses one charge above this. */
  totalPages: number;
  /** CommitLimit and Committed_AS in pages, for mode 2. */
  commitLimit: number;
  committed: number;
}

/** Everything about the process and machine that the kernel's checks read. */
export interface ModelEnv {
  maxMapCount: number;
  /** The kernel version whose features apply (see featureVersion). */
  version: KernelVersion;
  pageSize: number;
  /** RLIMIT_AS, RLIMIT_DATA, RLIMIT_MEMLOCK in pages (Infinity for unlimited). */
  rlimitAs: number;
  rlimitData: number;
  rlimitMemlock: number;
  capIpcLock: boolean;
  capSysRawio: boolean;
  /** vm.mmap_min_addr in bytes. */
  mmapMinAddr: number;
  overcommit: Overcommit;
  /** TASK_SIZE in pages (x86-64: 2^47 bytes less a page; arm64: 2^vabits_actual bytes). */
  taskSize: number;
  /** First page of the experiment window: the trace names pages as W+n from it. */
  window?: number;
  /**
   * Where the model puts a move to an address the kernel picks (outside the
   * case's ranges): the judge compares the shape and contents there with
   * what the kernel put at the address it returned.
   */
  picked?: number;
}

export interface Step {
  /** The kernel function this step mirrors, e.g. "mremap_to()". */
  fn: string;
  /** What it checked or did, with the numbers. */
  what: string;
  /** Fails here with this errno. */
  errno?: string;
  /** This step unmapped or moved something. */
  changed?: boolean;
}

export type ModelReturn =
  /** Success at a page; `picked` when the kernel chose the address (any free one). */
  | { ok: true; page: number; picked?: boolean }
  /** A non-error return that is not an address (5.16's EFAULT returned as +14). */
  | { ok: true; raw: number }
  | { ok: false; errno: string };

export interface Prediction {
  ret: ModelReturn;
  state: VmaSet;
  trace: Step[];
}
