// The map-count comparisons of the kernel's mremap path, in one vocabulary:
// each rule says at which map_count c (for vm.max_map_count M) it fails, and
// how the trace words it. The era files pick which rule each check uses
// (docs/kernel/checks.md).

export interface MapCountRule {
  /** The kernel's expression, for docs and tests. */
  readonly expr: string;
  fails(c: number, M: number): boolean;
  failText(c: number, M: number, where: string): string;
  passText(c: number, M: number, where: string): string;
}

/** ea2c3f6f5545 (5.1): mremap_to() bails out early when (map_count + 2) >= max - 3, i.e. c >= M-5. */
export const EARLY_5_1: MapCountRule = {
  expr: '(map_count + 2) >= max_map_count - 3',
  fails: (c, M) => c + 2 >= M - 3,
  failText: (c, M, where) =>
    `early map-count check ${where}: (map_count ${c} + 2) >= max_map_count ${M} - 3`,
  passText: (c, M, where) =>
    `early map-count check ${where}: (map_count ${c} + 2) < ${M} - 3, passes`,
};

/** 7.1: under the mmap lock, for every mremap call: fails when map_count + 4 > max, i.e. c >= M-3. */
export const EVERY_CALL_7_1: MapCountRule = {
  expr: 'map_count + 4 > max_map_count',
  fails: (c, M) => c + 4 > M,
  failText: (c, M) =>
    `map-count check under the lock, for every call: map_count ${c} + 4 > max_map_count ${M}`,
  passText: (c, M) => `map-count check under the lock: map_count ${c} + 4 <= ${M}, passes`,
};

/** 7.2: the same check with room for one more VMA for a MREMAP_DONTUNMAP call: c >= M-4. */
export const EVERY_CALL_7_2_DONTUNMAP: MapCountRule = {
  expr: 'map_count + 5 > max_map_count',
  fails: (c, M) => c + 5 > M,
  failText: (c, M) =>
    `map-count check under the lock, for every call, one more for MREMAP_DONTUNMAP: map_count ${c} + 5 > max_map_count ${M}`,
  passText: (c, M) => `map-count check under the lock: map_count ${c} + 5 <= ${M}, passes`,
};

/** move_vma() up to 7.0: fails when map_count >= max - 3. */
export const MOVE_VMA: MapCountRule = {
  expr: 'map_count >= max_map_count - 3',
  fails: (c, M) => c >= M - 3,
  failText: (c, M) => `map_count ${c} >= max_map_count ${M} - 3`,
  passText: (c) => `map_count ${c} leaves room for the move`,
};

/** 7.1: check_map_count_against_split() at move time: fails when map_count + 2 > max. */
export const SPLIT_7_1: MapCountRule = {
  expr: 'map_count + 2 > max_map_count',
  fails: (c, M) => c + 2 > M,
  failText: (c, M) => `check_map_count_against_split(): map_count ${c} + 2 > max_map_count ${M}`,
  passText: (c) => `map_count ${c} leaves room for the move`,
};

/**
 * do_munmap(): a range strictly inside one VMA needs two splits and is refused
 * once, before anything changes, when map_count >= max ("let map_count go just
 * above its limit temporarily" for the other cases).
 */
export const MUNMAP_SPLIT: MapCountRule = {
  expr: 'map_count >= max_map_count',
  fails: (c, M) => c >= M,
  failText: (c, M) => `the range is strictly inside one VMA and map_count ${c} >= ${M}`,
  passText: (c, M) => `map_count ${c} < ${M}`,
};
