// Same-size MREMAP_FIXED moves over several VMAs (6.17+, remap_move()): each
// VMA is checked and moved on its own, so a check that fails for a later VMA
// returns an error after the earlier ones moved. Found by `explore` on 6.18;
// before 6.17 the same calls fail with EFAULT (the old range crosses its
// VMA's end), (a) having already run.
import type { Family, Scenario } from './types.js';

const WINDOW = 48;

/** A page, a hole and a page moved inside a larger destination VMA, at `M+pressure`. */
function holeMove(pressure: number, summary: string): Scenario {
  return {
    id: `multi-vma/dst-mid/old-hole/same@M${pressure}`,
    family: 'multi-vma',
    summary,
    layout: [
      { label: 'dst', page: 7, pages: 5, prot: 'rw', backing: 'anon' },
      { label: 'old', page: 31, pages: 2, prot: 'rw', backing: 'anon' },
      { label: 'old-next', page: 34, pages: 1, prot: 'rw', backing: 'anon' },
    ],
    call: { old: 32, oldPages: 3, newPages: 3, flags: ['MAYMOVE', 'FIXED'], newAddr: 8 },
    pressure,
    windowPages: WINDOW,
  };
}

function multiVma(): Scenario[] {
  return [
    holeMove(
      -6,
      "a page, a hole and a page moved inside a larger destination VMA at M-6: the second page's move_vma() map-count check fails after the first page moved (6.17+)",
    ),
    holeMove(
      -4,
      "the same move at M-4, as explore shrank it on 7.2: 7.1+ moves the first page and the second page's map-count check fails after it; from 5.1 to 7.0 the early map-count check refuses the call before anything, and before 5.1 the crossing EFAULT comes after (a)",
    ),
    {
      id: 'multi-vma/dst-unmapped/old-next/same+dontunmap-as-tight@none',
      family: 'multi-vma',
      summary:
        'MREMAP_DONTUNMAP of the last page of a VMA and a whole shmem VMA after it, RLIMIT_AS two pages above total_vm: the first page moves, then may_expand_vm() refuses the second VMA (6.17+)',
      layout: [
        { label: 'old', page: 29, pages: 4, prot: 'rw', backing: 'anon' },
        { label: 'old-next', page: 33, pages: 2, prot: 'rw', backing: 'shmem' },
      ],
      call: {
        old: 32,
        oldPages: 3,
        newPages: 3,
        flags: ['MAYMOVE', 'FIXED', 'DONTUNMAP'],
        newAddr: 8,
      },
      pressure: null,
      limits: { as: { headroom: 2 } },
      requires: { minKernel: [5, 7] },
      windowPages: WINDOW,
    },
  ];
}

export const multiVmaFamilies: Family[] = [
  {
    name: 'multi-vma',
    exercises:
      'remap_move() (6.17+): check_prep_vma(), (a) and move_vma() per VMA, so an error for a later VMA comes after earlier VMAs moved; before 6.17 the crossing EFAULT after (a) (docs/kernel/checks.md#multi-vma-move)',
    scenarios: multiVma(),
  },
];
