// Invariants beyond destroyed mappings, judged on every kernel:
// - in-place: a call that needs no new VMA (shrinking the tail of a VMA, the
//   same-size call, growing into free space) must not fail for map-count
//   reasons, even at the limit;
// - accounting: mremap must change Committed_AS by exactly the change in
//   charged pages it leaves mapped, so that a cycle of map, move and unmap
//   leaves it where it was (a drift outlives the process).
import type { Family, Scenario } from './types.js';

const OLD = 8;
const DST = 96;
const WINDOW = 176;

function inPlace(): Scenario[] {
  const out: Scenario[] = [];
  const shapes = [
    ['shrink-tail', 2, 1, 'shrink a VMA at its end: the cut needs no new VMA'],
    ['same-size', 2, 2, 'the same-size call: nothing to do'],
    ['grow', 2, 4, 'grow into free space behind the VMA: vma_expand, no new VMA'],
  ] as const;
  for (const [name, L, N, summary] of shapes) {
    for (const pressure of [-5, -4, -3, -2, -1, 0]) {
      out.push({
        id: `invariant/in-place/${name}@${pressure === 0 ? 'M' : `M${pressure}`}`,
        family: 'invariant-in-place',
        summary: `${summary}; must not fail for map-count reasons`,
        layout: [{ label: 'old', page: OLD, pages: L, prot: 'rw', backing: 'anon' }],
        call: { old: OLD, oldPages: L, newPages: N, flags: [] },
        pressure,
        windowPages: 48,
        invariant: 'in-place',
      });
    }
  }
  return out;
}

function accounting(): Scenario[] {
  const cycle = (
    name: string,
    L: number,
    N: number,
    flags: Scenario['call']['flags'],
    summary: string,
    minKernel?: [number, number],
  ): Scenario => ({
    id: `invariant/accounting/${name}@none`,
    family: 'invariant-accounting',
    summary: `${summary}, 200 times: Committed_AS must come back each cycle`,
    layout: [{ label: 'old', page: OLD, pages: L, prot: 'rw', backing: 'anon' }],
    call: {
      old: OLD,
      oldPages: L,
      newPages: N,
      flags,
      ...(flags.includes('FIXED') ? { newAddr: DST } : {}),
    },
    pressure: null,
    windowPages: WINDOW,
    invariant: 'accounting',
    repeat: 200,
    requires: { globalEffects: true, overcommitNot: [], ...(minKernel ? { minKernel } : {}) },
  });
  return [
    cycle(
      'fixed-shrink',
      64,
      32,
      ['MAYMOVE', 'FIXED'],
      'a shrinking MREMAP_FIXED move of 64 pages to 32',
    ),
    cycle('fixed-same', 32, 32, ['MAYMOVE', 'FIXED'], 'a same-size MREMAP_FIXED move of 32 pages'),
    cycle(
      'fixed-grow',
      32,
      64,
      ['MAYMOVE', 'FIXED'],
      'a growing MREMAP_FIXED move of 32 pages to 64',
    ),
    cycle(
      'dontunmap',
      32,
      32,
      ['MAYMOVE', 'FIXED', 'DONTUNMAP'],
      'a MREMAP_DONTUNMAP move of 32 pages',
      [5, 7],
    ),
    cycle('inplace-shrink', 64, 32, [], 'an in-place shrink of 64 pages to 32'),
    cycle('inplace-grow', 32, 64, [], 'an in-place grow of 32 pages to 64'),
  ];
}

/**
 * locked_vm: a cycle of map, mlock, call and unmap must leave the process's
 * locked memory where it was. Found by `explore` on 6.18: MREMAP_DONTUNMAP of
 * an mlocked VMA leaves locked pages counted that nothing holds any more.
 */
function lockedVm(): Scenario[] {
  const cycle = (
    name: string,
    pages: number,
    call: Scenario['call'],
    summary: string,
    minKernel?: [number, number],
  ): Scenario => ({
    id: `invariant/locked-vm/${name}@none`,
    family: 'invariant-locked-vm',
    summary: `${summary}: VmLck must come back once everything is unmapped`,
    layout: [{ label: 'old', page: OLD, pages, prot: 'rw', backing: 'anon', mlock: true }],
    call,
    pressure: null,
    windowPages: WINDOW,
    invariant: 'locked-vm',
    ...(minKernel ? { requires: { minKernel } } : {}),
  });
  const dontunmap = ['MAYMOVE', 'FIXED', 'DONTUNMAP'] as const;
  return [
    cycle(
      'dontunmap-part',
      2,
      { old: OLD, oldPages: 1, newPages: 1, flags: [...dontunmap], newAddr: DST },
      'MREMAP_DONTUNMAP of one page of a 2-page mlocked VMA',
      [5, 7],
    ),
    cycle(
      'dontunmap-whole',
      2,
      { old: OLD, oldPages: 2, newPages: 2, flags: [...dontunmap], newAddr: DST },
      'MREMAP_DONTUNMAP of a whole 2-page mlocked VMA',
      [5, 7],
    ),
    cycle(
      'fixed-part',
      2,
      { old: OLD, oldPages: 1, newPages: 1, flags: ['MAYMOVE', 'FIXED'], newAddr: DST },
      'a MREMAP_FIXED move of one page of a 2-page mlocked VMA (a control)',
    ),
    cycle(
      'grow',
      2,
      { old: OLD, oldPages: 2, newPages: 4, flags: [] },
      'an in-place grow of a 2-page mlocked VMA (a control)',
    ),
  ];
}

export const invariantFamilies: Family[] = [
  {
    name: 'invariant-in-place',
    exercises:
      'calls that need no new VMA near the limit (M-5 to M): the munmap rule spares a tail cut; 7.1+ checks the map count for every call',
    scenarios: inPlace(),
  },
  {
    name: 'invariant-accounting',
    exercises:
      'the VM_ACCOUNT charge of move_vma()/vrm_calc_charge() and the unaccounting of (b) and munmap: Committed_AS over 200 cycles and after the child exits',
    scenarios: accounting(),
  },
  {
    name: 'invariant-locked-vm',
    exercises:
      "locked_vm through move_vma() and MREMAP_DONTUNMAP's dontunmap_complete(): VM_LOCKED cleared on the whole old VMA, and (6.15 until the 2026 fix) the copy counted before it is cleared (docs/merges.md#dontunmap)",
    scenarios: lockedVm(),
  },
];
