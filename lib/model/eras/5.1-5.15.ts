// Era 5.1-5.15: ea2c3f6f5545 adds "(map_count + 2) >= max_map_count - 3" in
// mremap_to(), under the mmap lock, before (a). The old-VMA lookup still comes
// after (a) and (b) (docs/kernel/eras.md#era-5-1-5-15). Within the era:
// MREMAP_DONTUNMAP from 5.7 (private anonymous VMAs; any but special ones
// from 5.13), the lock renamed in 5.8, move_vma() charging a DONTUNMAP move's
// new VMA from 5.11, and the VM_ACCOUNT charge moving from vma_to_resize() to
// move_vma() in 5.15.
import { EARLY_5_1 } from '../rules.js';
import { Run } from '../steps.js';
import { atLeast } from '../types.js';
import type { EraModel } from './index.js';
import { mremapBefore516 } from './before-5.16.js';
import { pre51Merges } from './pre-5.1.js';

export const era51to515: EraModel = (state, call, env) => {
  const v = env.version;
  const dontunmapKnown = atLeast(v, 5, 7);
  return Run.predict(state, call, env, (r) =>
    mremapBefore516(r, {
      lock: atLeast(v, 5, 8) ? 'mmap_write_lock_killable()' : 'down_write_killable(&mm->mmap_sem)',
      early: EARLY_5_1,
      dontunmapKnown,
      dontunmap: !dontunmapKnown ? 'none' : atLeast(v, 5, 13) ? 'not-special' : 'private-anon',
      resizeCharges: !atLeast(v, 5, 15),
      moveCharge: atLeast(v, 5, 15)
        ? { where: 'move-delta' }
        : { where: 'resize', dontunmap: atLeast(v, 5, 11) ? 'checked' : 'unchecked' },
    }),
  );
};

export const era51to515Merges = pre51Merges;
