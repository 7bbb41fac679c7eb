// MREMAP_MAYMOVE|MREMAP_FIXED|MREMAP_DONTUNMAP (5.7+): the old range stays
// mapped, so the move needs room for both in RLIMIT_AS, checked after (a).
import { moveCase } from './geometry.js';
import type { Family, Scenario } from './types.js';

const flags = ['MAYMOVE', 'FIXED', 'DONTUNMAP'] as const;
const requires = { minKernel: [5, 7] as [number, number] };

function dontunmap(): Scenario[] {
  const out: Scenario[] = [];
  for (const pressure of [null, -5, -6]) {
    out.push(
      moveCase({
        family: 'dontunmap',
        dst: 'whole',
        old: 'whole',
        size: 'same',
        flags: [...flags],
        pressure,
        summary: 'a DONTUNMAP move onto a whole VMA',
        extra: { requires },
      }),
    );
  }
  out.push(
    moveCase({
      family: 'dontunmap',
      dst: 'unmapped',
      old: 'whole',
      size: 'same',
      flags: [...flags],
      modifier: 'as-tight',
      summary:
        'RLIMIT_AS leaves no room for a second copy: may_expand_vm(old_len) fails after (a), which had nothing to unmap',
      extra: { requires, limits: { as: { headroom: 0 } } },
    }),
    moveCase({
      family: 'dontunmap',
      dst: 'sparse',
      old: 'whole',
      size: 'same',
      flags: [...flags],
      modifier: 'as-tight',
      summary:
        'RLIMIT_AS leaves no room for a second copy: may_expand_vm(old_len) fails after (a) unmapped the destination, in every era',
      extra: { requires, limits: { as: { headroom: 0 } } },
    }),
    moveCase({
      family: 'dontunmap',
      dst: 'whole',
      old: 'next',
      size: 'same',
      flags: [...flags],
      summary:
        'DONTUNMAP over a VMA and the next one: EFAULT after (a) before 6.17, moved VMA by VMA since',
      extra: { requires },
    }),
  );
  return out;
}

function backed(backing: 'shmem' | 'memfd'): Scenario[] {
  return [
    moveCase({
      family: `dontunmap-${backing}`,
      dst: 'whole',
      old: 'whole',
      size: 'same',
      backing,
      flags: [...flags],
      summary: `DONTUNMAP of a ${backing} VMA: EINVAL after (a) in 5.7-5.12 (private anonymous only), allowed from 5.13`,
      extra: { requires },
    }),
  ];
}

export const dontunmapFamilies: Family[] = [
  {
    name: 'dontunmap',
    exercises:
      'MREMAP_DONTUNMAP: early map-count check; may_expand_vm(old_len) (ENOMEM after (a) in every era); multi-VMA moves (6.17+)',
    scenarios: dontunmap(),
  },
  {
    name: 'dontunmap-shmem',
    exercises:
      'MREMAP_DONTUNMAP on an unsuitable VMA (EINVAL after (a), 5.7-5.12) and its widening in 5.13',
    scenarios: backed('shmem'),
  },
  {
    name: 'dontunmap-memfd',
    exercises: 'MREMAP_DONTUNMAP on a file VMA (EINVAL after (a), 5.7-5.12; allowed from 5.13)',
    scenarios: backed('memfd'),
  },
];
