// MREMAP_MAYMOVE|MREMAP_FIXED moves: the seed's layout across the whole
// pressure range, every destination and old-range shape, and the three backings.
import { moveCase } from './geometry.js';
import type { Family, Scenario } from './types.js';

const OFFSETS = [1, 0, -1, -2, -3, -4, -5, -6, -7, -8];

function fixed(): Scenario[] {
  const out: Scenario[] = [];
  for (const pressure of [...OFFSETS, null]) {
    out.push(
      moveCase({
        family: 'fixed',
        dst: 'mid',
        old: 'mid',
        size: 'shrink',
        pressure,
        summary:
          'the seed layout: destination strictly inside a VMA, old range strictly inside another, shrinking: (a) and (b) each split a VMA',
      }),
    );
  }
  for (const size of ['same', 'grow'] as const) {
    for (const pressure of [-5, -6]) {
      out.push(
        moveCase({
          family: 'fixed',
          dst: 'mid',
          old: 'mid',
          size,
          pressure,
          summary: `${size} move between VMA middles at the edge of the early map-count check`,
        }),
      );
    }
  }
  for (const size of ['shrink', 'same', 'grow'] as const) {
    out.push(
      moveCase({
        family: 'fixed',
        dst: 'whole',
        old: 'whole',
        size,
        summary: `a ${size} move onto a whole VMA: a control that succeeds`,
      }),
    );
  }
  for (const size of ['same', 'grow'] as const) {
    out.push(
      moveCase({
        family: 'fixed',
        dst: 'unmapped',
        old: 'whole',
        size,
        summary: `a ${size} move to free space: a control that succeeds`,
      }),
    );
  }
  for (const pressure of [null, -5]) {
    out.push(
      moveCase({
        family: 'fixed',
        dst: 'multi',
        old: 'whole',
        size: 'same',
        pressure,
        summary: '(a) unmaps a destination that spans two VMAs',
      }),
    );
  }
  for (const [size, pressure] of [
    ['same', null],
    ['same', -5],
    ['shrink', null],
  ] as const) {
    out.push(
      moveCase({
        family: 'fixed',
        dst: 'whole',
        old: 'none',
        size,
        pressure,
        summary:
          'nothing is mapped at the old address: EFAULT, found after (a) and (b) before 5.16, before them since',
      }),
    );
  }
  for (const size of ['same', 'grow', 'shrink'] as const) {
    out.push(
      moveCase({
        family: 'fixed',
        dst: 'whole',
        old: 'next',
        size,
        summary:
          size === 'shrink'
            ? 'the old range covers a VMA and the next one, shrinking to the first: (b) unmaps the next VMA and the move succeeds'
            : `the old range covers a VMA and the next one, ${size}: EFAULT after (a) before 6.17; 6.17 ${size === 'same' ? 'moves both VMAs' : 'fails before (a)'}`,
      }),
    );
  }
  for (const size of ['same', 'grow'] as const) {
    out.push(
      moveCase({
        family: 'fixed',
        dst: 'whole',
        old: 'hole',
        size,
        summary: `the old range is a VMA and a hole, ${size}: EFAULT after (a) before 6.17; 6.17 ${size === 'same' ? 'moves the VMA and skips the hole' : 'fails before (a)'}`,
      }),
    );
  }
  return out;
}

function backed(backing: 'shmem' | 'memfd'): Scenario[] {
  const family = `fixed-${backing}`;
  const what = backing === 'shmem' ? 'shared anonymous (shmem)' : 'memfd';
  const out: Scenario[] = [];
  for (const pressure of [-5, -6]) {
    out.push(
      moveCase({
        family,
        dst: 'mid',
        old: 'mid',
        size: 'shrink',
        backing,
        pressure,
        summary: `the seed layout with a ${what} old range`,
      }),
    );
  }
  out.push(
    moveCase({
      family,
      dst: 'whole',
      old: 'whole',
      size: 'same',
      backing,
      summary: `a ${what} VMA moved onto a whole VMA`,
    }),
  );
  if (backing === 'memfd') {
    out.push(
      moveCase({
        family,
        dst: 'whole',
        old: 'whole',
        size: 'grow',
        backing,
        summary: 'a memfd VMA grows as it moves (within the file)',
      }),
    );
  } else {
    out.push(
      moveCase({
        family,
        dst: 'whole',
        old: 'next',
        size: 'same',
        backing,
        summary: 'a shmem VMA and the next VMA moved together (6.17+) or EFAULT after (a)',
      }),
    );
  }
  return out;
}

export const fixedFamilies: Family[] = [
  {
    name: 'fixed',
    exercises:
      'early map-count check (ENOMEM, c >= M-5 or none before 5.1); (a) and (b) with their munmap map-count rule; no VMA at the old address (EFAULT); old range not inside one VMA (EFAULT); same-size moves over several VMAs and holes; move_vma() map-count check',
    scenarios: fixed(),
  },
  {
    name: 'fixed-shmem',
    exercises:
      'the same paths with a MAP_SHARED|MAP_ANONYMOUS old range, whose pages live in a shmem object',
    scenarios: backed('shmem'),
  },
  {
    name: 'fixed-memfd',
    exercises: 'the same paths with a memfd-backed old range (a file: pgoff and file size matter)',
    scenarios: backed('memfd'),
  },
];
