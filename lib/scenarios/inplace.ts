// Calls without MREMAP_FIXED: the in-place shrink, the same-size call and the
// in-place grow, as controls for the moving families.
import { oldPieces, OLD, WINDOW } from './geometry.js';
import type { Family, Scenario } from './types.js';

function inplace(): Scenario[] {
  const make = (
    old: 'whole' | 'mid' | 'blocked',
    size: 'shrink' | 'same' | 'grow',
    pressure: number | null,
    summary: string,
  ): Scenario => {
    const [L, N] = size === 'shrink' ? [2, 1] : size === 'same' ? [2, 2] : [2, 4];
    const layout =
      old === 'blocked'
        ? [
            ...oldPieces('whole', OLD, L, 'anon'),
            {
              label: 'blocker',
              page: OLD + L,
              pages: 1,
              prot: 'r' as const,
              backing: 'anon' as const,
            },
          ]
        : oldPieces(old, OLD, L, 'anon');
    return {
      id: `inplace/old-${old}/${size}@${pressure === null ? 'none' : pressure === 0 ? 'M' : `M${pressure}`}`,
      family: 'inplace',
      summary,
      layout,
      call: { old: OLD, oldPages: L, newPages: N, flags: [] },
      pressure,
      windowPages: WINDOW,
    };
  };
  return [
    make('whole', 'shrink', null, 'shrink a VMA at its end, in place'),
    make('whole', 'same', null, 'the same-size call: returns the address'),
    make('whole', 'grow', null, 'grow into the free space behind the VMA'),
    make(
      'blocked',
      'grow',
      null,
      'grow without MREMAP_MAYMOVE against a neighbour: ENOMEM, nothing touched',
    ),
    make(
      'mid',
      'shrink',
      0,
      'shrink strictly inside a VMA at c = M: munmap needs a new VMA and refuses (c >= M)',
    ),
    make(
      'mid',
      'shrink',
      -1,
      'shrink strictly inside a VMA at c = M-1: munmap allows it; 7.1 checks every call (c >= M-3) first',
    ),
  ];
}

export const inplaceFamilies: Family[] = [
  {
    name: 'inplace',
    exercises:
      'non-moving calls as controls: in-place shrink (munmap map-count rule), same-size call, in-place grow (vma_expandable), and 7.1 checking every call',
    scenarios: inplace(),
  },
];
