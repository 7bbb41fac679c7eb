// A new address below vm.mmap_min_addr without CAP_SYS_RAWIO: get_unmapped_area()
// -> security_mmap_addr() refuses it with EPERM after (a) and (b), in every era.
import { oldPieces, OLD, WINDOW } from './geometry.js';
import type { Family, Scenario } from './types.js';

function lowaddr(): Scenario[] {
  const base = {
    family: 'lowaddr',
    pressure: null,
    requires: { mmapMinAddr: true, dropCaps: ['CAP_SYS_RAWIO' as const] },
    windowPages: WINDOW,
  };
  return [
    {
      ...base,
      id: 'lowaddr/dst-zero/old-mid/shrink@none',
      summary:
        'a shrinking move to address 0: EPERM from security_mmap_addr() after (b) unmapped the old tail, in every era',
      layout: oldPieces('mid', OLD, 2, 'anon'),
      call: { old: OLD, oldPages: 2, newPages: 1, flags: ['MAYMOVE', 'FIXED'], newAddr: 'zero' },
    },
    {
      ...base,
      id: 'lowaddr/dst-zero/old-whole/same@none',
      summary: 'a same-size move to address 0: EPERM after (a), which had nothing to unmap',
      layout: oldPieces('whole', OLD, 2, 'anon'),
      call: { old: OLD, oldPages: 2, newPages: 2, flags: ['MAYMOVE', 'FIXED'], newAddr: 'zero' },
    },
  ];
}

export const lowaddrFamilies: Family[] = [
  {
    name: 'lowaddr',
    exercises:
      'get_unmapped_area() / security_mmap_addr() (EPERM below vm.mmap_min_addr): after (a) and (b) in every era',
    scenarios: lowaddr(),
  },
];
